// The kernel headers' number/name lists, written as "number NAME" pairs and read into maps.

export function pairs(text: string): Map<number, string> {
  const words = text.trim().split(/\s+/);
  const byNumber = new Map<number, string>();
  for (let i = 0; i + 1 < words.length; i += 2) {
    byNumber.set(Number(words[i]), words[i + 1] as string);
  }
  return byNumber;
}

export function invert(byNumber: Map<number, string>): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [number, name] of byNumber) byName.set(name, number);
  return byName;
}
