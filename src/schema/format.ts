// The output formats of the JSON-printing commands (`replay`, `run --stdout`, `tail --json`):
// native (the typed entry, docs/flow.schema.json), ECS or OCSF (docs/formats.md). Each command turns
// what it has into the typed entry first, so the three print the same object for the same flow.
import { ecsFlow, ecsLifecycle, ecsLoss } from './formats/ecs.js';
import type { FlowEntry, LifecycleEntry, LossEntry } from './formats/mapping.js';
import { ocsfFlow, ocsfLifecycle, ocsfLoss } from './formats/ocsf.js';
import { typedEntry, type TypedEntry } from './typed.js';

export const OUTPUT_FORMATS = ['native', 'ecs', 'ocsf'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const isOutputFormat = (text: string): text is OutputFormat => (OUTPUT_FORMATS as readonly string[]).includes(text);

type Mappers = { flow: (e: FlowEntry) => Record<string, unknown>; loss: (e: LossEntry) => Record<string, unknown>; lifecycle: (e: LifecycleEntry) => Record<string, unknown> };
const MAPPERS: Record<Exclude<OutputFormat, 'native'>, Mappers> = {
  ecs: { flow: ecsFlow, loss: ecsLoss, lifecycle: ecsLifecycle },
  ocsf: { flow: ocsfFlow, loss: ocsfLoss, lifecycle: ocsfLifecycle },
};

/** The typed entry in `format`; an entry of a kind the mappings do not know stays native. */
export function formatEntry(entry: TypedEntry, format: OutputFormat): Record<string, unknown> {
  if (format === 'native') return entry;
  const mappers = MAPPERS[format];
  switch (entry.kind) {
    case 'flow':
      return mappers.flow(entry as unknown as FlowEntry);
    case 'loss':
      return mappers.loss(entry as unknown as LossEntry);
    case 'lifecycle':
      return mappers.lifecycle(entry as unknown as LifecycleEntry);
    default:
      return entry;
  }
}

/** A stream entry's flat fields (the envelope included) as one JSON text in `format`. */
export function streamEntryJson(flat: Readonly<Record<string, string>>, format: OutputFormat, id?: string): string {
  return JSON.stringify(formatEntry(typedEntry(flat, id), format));
}
