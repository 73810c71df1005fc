// --format of the commands that print JSON (run --stdout, replay, tail --json).
import { InvalidArgumentError } from 'commander';
import { isOutputFormat, OUTPUT_FORMATS, type OutputFormat } from '../schema/format.js';

export function parseFormat(text: string): OutputFormat {
  if (isOutputFormat(text)) return text;
  throw new InvalidArgumentError(`must be one of ${OUTPUT_FORMATS.join(', ')}`);
}
