// The user and group databases' text format, passwd(5) and group(5).

// name:x:id:... lines, the format of passwd(5) and group(5).
export function parseIdFile(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id && /^[0-9]+$/.test(id) && !ids.has(name)) ids.set(name, Number(id));
  }
  return ids;
}
