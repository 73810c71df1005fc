// config/auditflow.conf documents every setting with its default; this keeps it in step with the
// settings table (UPDATE_GOLDEN=1 rewrites it, review the diff).
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigFile } from '../../../src/daemon/config.js';
import { envName, SETTINGS } from '../../../src/daemon/settings.js';

const PATH = new URL('../../../config/auditflow.conf', import.meta.url);

function example(): string {
  const header = [
    '# auditflow configuration (/etc/auditflow/auditflow.conf, or --config FILE, or $AUDITFLOW_CONFIG).',
    '#',
    '# Lines are `key = value`; `#` starts a comment; a value may be "double-quoted".',
    '# Every setting is listed with its default, commented out. Each can also be set in the environment',
    '# (AUDITFLOW_<KEY>, e.g. AUDITFLOW_REDIS_URL), which overrides this file, and on the command line',
    '# (`auditflow run --set key=value`, or the named flags), which overrides both.',
    '# Settings marked [reload] take effect on SIGHUP (systemctl reload auditflow); the others need a restart.',
    '',
  ];
  const body = SETTINGS.flatMap((s) => [`# ${s.doc}${s.reloadable ? ' [reload]' : ''}`, `# (${envName(s.key)})`, `#${s.key} = ${s.defaultText === "" ? "\"\"" : s.defaultText}`, '']);
  return [...header, ...body].join('\n');
}

describe('config/auditflow.conf', () => {
  it('lists every setting with its default and its environment name', () => {
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(PATH, example());
    expect(readFileSync(PATH, 'utf8')).toBe(example());
  });

  it('has every setting in the configuration table of docs/configuration.md, with its default', () => {
    const readme = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) {
      const shown = s.defaultText === '' ? '(empty)' : `\`${s.defaultText}\``;
      expect(readme).toContain(`| \`${s.key}\` | ${shown} |`);
    }
  });

  it('is a valid config file once uncommented, and then gives the defaults', () => {
    const text = readFileSync(PATH, 'utf8').replace(/^#([a-z_]+ = )/gm, '$1');
    expect(parseConfigFile(text, 'example')).toHaveLength(SETTINGS.length);
    const uncommented = '/tmp/auditflow-example-uncommented.conf';
    writeFileSync(uncommented, text);
    const fromFile = loadConfig({ file: uncommented, env: {} }).settings;
    const defaults = loadConfig({ env: {}, file: '/dev/null' }).settings;
    expect(fromFile).toEqual(defaults);
  });
});
