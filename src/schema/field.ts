// The building blocks of the entry schema (./entries.ts): one field is one line there, a call of a
// builder below that says its type, whether it can be null, and what it means. From a table of such
// fields come the TypeScript type of an entry (`Typed`), its JSON Schema (./json-schema.ts) and the
// conversion of a Redis stream entry's flat strings back to typed values (./typed.ts).

/** The JSON types a field's value can have, as in JSON Schema. */
export type FieldType = 'integer' | 'string' | 'boolean' | 'strings';

interface FieldBase<T extends FieldType, N extends boolean> {
  type: T;
  nullable: N;
  doc: string;
}

export type IntegerField<N extends boolean = boolean> = FieldBase<'integer', N>;
export type BooleanField<N extends boolean = boolean> = FieldBase<'boolean', N>;
export type StringsField<N extends boolean = boolean> = FieldBase<'strings', N>;
export interface StringField<N extends boolean = boolean, V extends string = string> extends FieldBase<'string', N> {
  /** The values the field takes, each with its meaning; undefined: any text. */
  values?: Readonly<Record<V, string>>;
}
/** A field that is there, `true`, only when something happened (a list was cut); never false or null. */
export interface MarkerField {
  type: 'boolean';
  nullable: false;
  marker: true;
  doc: string;
}

export type Field = IntegerField | BooleanField | StringsField | StringField | MarkerField;
export type FieldTable = Readonly<Record<string, Field>>;

export const integer = (doc: string): IntegerField<false> => ({ type: 'integer', nullable: false, doc });
export const integerOrNull = (doc: string): IntegerField<true> => ({ type: 'integer', nullable: true, doc });
export const boolean = (doc: string): BooleanField<false> => ({ type: 'boolean', nullable: false, doc });
export const booleanOrNull = (doc: string): BooleanField<true> => ({ type: 'boolean', nullable: true, doc });
export const text = (doc: string): StringField<false> => ({ type: 'string', nullable: false, doc });
export const textOrNull = (doc: string): StringField<true> => ({ type: 'string', nullable: true, doc });
export const strings = (doc: string): StringsField<false> => ({ type: 'strings', nullable: false, doc });
export const stringsOrNull = (doc: string): StringsField<true> => ({ type: 'strings', nullable: true, doc });
export const marker = (doc: string): MarkerField => ({ type: 'boolean', nullable: false, marker: true, doc });
/** A string with a closed set of values, each with its meaning. */
export const oneOf = <V extends string>(values: Readonly<Record<V, string>>, doc: string): StringField<false, V> => ({ type: 'string', nullable: false, values, doc });
export const oneOfOrNull = <V extends string>(values: Readonly<Record<V, string>>, doc: string): StringField<true, V> => ({ type: 'string', nullable: true, values, doc });

export const isMarker = (field: Field): field is MarkerField => 'marker' in field;

/**
 * A field only some flows have (the numbers of a `close` entry, where a flow's local end came from):
 * absent, not null, on the others, so adding one changes no other entry.
 */
export const optional = <F extends IntegerField<false> | StringField<false, string>>(field: F): F & { optional: true } => ({ ...field, optional: true });

/** A field that may be absent: a marker, or an optional field. */
export const isOptional = (field: Field): boolean => isMarker(field) || ('optional' in field && field.optional === true);

type ValueOf<F> = F extends StringField<boolean, infer V>
  ? V
  : F extends IntegerField
    ? number
    : F extends BooleanField
      ? boolean
      : F extends StringsField
        ? string[]
        : never;
type WithNull<F> = F extends { nullable: true } ? ValueOf<F> | null : ValueOf<F>;
type MarkerKeys<T> = { [K in keyof T]: T[K] extends MarkerField ? K : never }[keyof T];
type OptionalKeys<T> = { [K in keyof T]: T[K] extends { optional: true } ? K : never }[keyof T];
type Flatten<T> = { [K in keyof T]: T[K] };

/** The entry a field table describes: every field, a marker only when it is there (`true`), an optional field only where it applies. */
export type Typed<T extends FieldTable> = Flatten<
  { -readonly [K in Exclude<keyof T, MarkerKeys<T> | OptionalKeys<T>>]: WithNull<T[K]> } & { -readonly [K in MarkerKeys<T>]?: true } & { -readonly [K in OptionalKeys<T>]?: ValueOf<T[K]> }
>;

/**
 * A flat stream value back as its field's type. A value that does not read as that type (an entry
 * written by hand, or by a newer version) is kept as its text, so nothing a consumer is given is lost.
 */
export function typedValue(field: Field, flat: string): unknown {
  switch (field.type) {
    case 'integer': {
      const n = Number(flat);
      return flat.trim() !== '' && Number.isFinite(n) ? n : flat;
    }
    case 'boolean':
      return flat === 'true' ? true : flat === 'false' ? false : flat;
    case 'strings':
      return stringList(flat) ?? flat;
    case 'string':
      return flat;
  }
}

function stringList(flat: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(flat);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The type as docs/flows.md writes it: `integer`, `string or null`, `["ok", ...]`... */
export function typeText(field: Field): string {
  if (isMarker(field)) return '`true` or absent';
  const base = field.type === 'strings' ? 'list of strings' : field.type;
  if (isOptional(field)) return `${base} or absent`;
  return field.nullable ? `${base} or null` : base;
}
