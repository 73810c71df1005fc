// /proc/<pid>/cgroup → the container a process runs in (id, runtime, Kubernetes pod) or, for a
// host process, its systemd unit. Container runtimes name the cgroup of each container after
// it; the patterns below are the ones they write (test/fixtures/cgroup/ has a real file of
// each, with its source):
//   docker          /system.slice/docker-<id>.scope (systemd driver), /docker/<id> (cgroupfs)
//   containerd/CRI  .../cri-containerd-<id>.scope, or "<slice>:cri-containerd:<id>" where a
//                   systemd-style cgroupsPath reached a cgroupfs driver
//   cri-o           .../crio-<id>.scope
//   podman          /machine.slice/libpod-<id>.scope[/container]
//   systemd-nspawn  /machine.slice/systemd-nspawn@<name>.service/payload/...
//   other machines  /machine.slice/machine-<name>.scope/... (registered with systemd-machined)
//   Kubernetes      kubepods[.slice]/.../pod<uid> or kubepods-<qos>-pod<uid_with_underscores>.slice
// The paths are as the host (the initial cgroup namespace) sees them, which is what the daemon
// reads when it runs in the host's cgroup namespace.

export interface CgroupLine {
  /** Hierarchy ID: 0 for the cgroup v2 (unified) hierarchy. */
  hierarchy: number;
  /** Comma-separated v1 controllers (`cpu,cpuacct`, `name=systemd`); empty for v2. */
  controllers: string;
  path: string;
}

export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'systemd-nspawn' | 'machine';

export interface CgroupContext {
  containerId: string | null;
  /** null when the path names a container but not who made it (kubepods cgroupfs: /kubepods/<qos>/pod<uid>/<id>). */
  runtime: ContainerRuntime | null;
  podUid: string | null;
  /** The innermost systemd unit (*.service, *.scope) of a host process; null inside a container. */
  unit: string | null;
}

/** man 7 cgroups, "/proc/[pid]/cgroup": `hierarchy-ID:controller-list:cgroup-path` per line. */
export function parseCgroupFile(text: string): CgroupLine[] {
  const lines: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    // The path is the rest of the line: it may itself hold ':' (the cri-containerd form).
    const first = line.indexOf(':');
    const second = first === -1 ? -1 : line.indexOf(':', first + 1);
    if (second === -1) continue;
    const hierarchy = Number(line.slice(0, first));
    if (!Number.isSafeInteger(hierarchy) || line.slice(0, first).trim() === '') continue;
    lines.push({ hierarchy, controllers: line.slice(first + 1, second), path: line.slice(second + 1) });
  }
  return lines;
}

const ID = '([0-9a-f]{64})';
// The unit-name prefixes the runtimes put before a container id (scope units and the
// "slice:prefix:id" cgroupsPath form of runc's systemd driver).
const PREFIX_RUNTIMES: ReadonlyMap<string, ContainerRuntime> = new Map([
  ['docker', 'docker'],
  ['cri-containerd', 'containerd'],
  ['crio', 'cri-o'],
  ['libpod', 'podman'],
]);
const SCOPE = new RegExp(`^(docker|cri-containerd|crio|libpod)-${ID}\\.scope$`);
const SYSTEMD_CGROUPS_PATH = new RegExp(`^[^:]*:(docker|cri-containerd|crio|libpod):${ID}$`);
const BARE_ID = new RegExp(`^${ID}$`);
const NSPAWN_SERVICE = /^systemd-nspawn@(.+)\.service$/;
const MACHINE_SCOPE = /^machine-(.+)\.scope$/;
// kubelet's pod cgroup: pod<uid> (cgroupfs driver) or <parent>-pod<uid, '-' as '_'>.slice
// (systemd driver; kind nests kubelet's tree as kubelet-kubepods-*). Static pods have a
// 32-hex hash for a uid.
const POD_SLICE = /^(?:[a-z0-9]+-)*pod([0-9a-f_]+)\.slice(?::|$)/;
const POD_DIR = /^pod([0-9a-f-]+)$/;
const UNIT = /\.(service|scope)$/;

interface Found {
  id: string;
  runtime: ContainerRuntime | null;
}

/** The innermost container a cgroup path names (a container in a container counts as the inner one). */
function containerOf(components: string[]): Found | undefined {
  for (let i = components.length - 1; i >= 0; i--) {
    const component = components[i] ?? '';
    const scope = SCOPE.exec(component) ?? SYSTEMD_CGROUPS_PATH.exec(component);
    if (scope) return { id: scope[2] ?? '', runtime: PREFIX_RUNTIMES.get(scope[1] ?? '') ?? null };
    const nspawn = NSPAWN_SERVICE.exec(component);
    if (nspawn) return { id: unescapeUnitName(nspawn[1] ?? ''), runtime: 'systemd-nspawn' };
    const machine = MACHINE_SCOPE.exec(component);
    if (machine && components[i - 1] === 'machine.slice') return { id: unescapeUnitName(machine[1] ?? ''), runtime: 'machine' };
    if (BARE_ID.test(component)) return { id: component, runtime: components[i - 1] === 'docker' ? 'docker' : null };
  }
  return undefined;
}

function podUidOf(components: string[]): string | null {
  if (!components.some((component) => component.startsWith('kubepods') || component.startsWith('kubelet-kubepods'))) return null;
  for (const component of components) {
    const slice = POD_SLICE.exec(component);
    if (slice) return (slice[1] ?? '').replaceAll('_', '-');
    const dir = POD_DIR.exec(component);
    if (dir) return dir[1] ?? null;
  }
  return null;
}

/**
 * What the cgroup file says about the process. The v2 line comes first, then v1's
 * name=systemd, then the v1 controllers: on a hybrid host docker may manage only the v1
 * hierarchies while the v2 line shows containerd.service.
 */
export function cgroupContext(lines: CgroupLine[]): CgroupContext {
  const unified = lines.filter((line) => line.hierarchy === 0 && line.controllers === '');
  const systemd = lines.filter((line) => line.controllers === 'name=systemd');
  const ordered = [...unified, ...systemd, ...lines.filter((line) => !unified.includes(line) && !systemd.includes(line))];
  for (const line of ordered) {
    const components = line.path.split('/').filter((component) => component !== '');
    const found = containerOf(components);
    if (found) return { containerId: found.id, runtime: found.runtime, podUid: podUidOf(components), unit: null };
  }
  const unitPath = [...unified, ...systemd].find((line) => line.path !== '/');
  const unit = unitPath?.path
    .split('/')
    .filter((component) => UNIT.test(component))
    .pop();
  return { containerId: null, runtime: null, podUid: null, unit: unit ?? null };
}

/** systemd's unit name escaping (man 7 systemd.unit, "STRING ESCAPING"): \xNN is a byte; runs of them are UTF-8. */
export function unescapeUnitName(name: string): string {
  return name.replace(/(?:\\x[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replaceAll('\\x', ''), 'hex').toString('utf8'));
}
