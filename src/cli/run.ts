// auditflow run: the daemon in the foreground, as systemd runs it. Loads the configuration (file,
// AUDITFLOW_* environment, flags), starts the daemon, and maps signals onto its lifecycle:
// SIGTERM/SIGINT stop it (a second one, or the shutdown timeout, exits at once), SIGHUP reloads.
import { ConfigError, loadConfig, type Override } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger } from '../daemon/logger.js';
import { settingSpec, type SettingKey } from '../daemon/settings.js';
import { ExitCode } from './exit-codes.js';
import { describeFailure } from './fail.js';

export interface RunOptions {
  config?: string;
  redis?: string;
  stream?: string;
  stdout?: boolean;
  format?: string;
  /** A path, or false for --no-rules. */
  rules?: string | false;
  mode?: string;
  force?: boolean;
  metrics?: string;
  set?: string[];
}

function overrides(options: RunOptions): Override[] {
  const list: Override[] = [];
  const add = (key: SettingKey, text: string | undefined, source: string): void => {
    if (text !== undefined) list.push({ key, text, source });
  };
  add('redis_url', options.redis, '--redis');
  add('stream', options.stream, '--stream');
  add('sink', options.stdout === true ? 'stdout' : undefined, '--stdout');
  add('format', options.format, '--format');
  add('rules', typeof options.rules === 'string' ? options.rules : undefined, '--rules');
  add('apply_rules', options.rules === false ? 'false' : undefined, '--no-rules');
  add('mode', options.mode, '--mode');
  add('metrics_listen', options.metrics, '--metrics');
  for (const assignment of options.set ?? []) {
    const equals = assignment.indexOf('=');
    const key = equals === -1 ? assignment : assignment.slice(0, equals);
    if (equals === -1) throw new ConfigError(`--set ${assignment}: expected key=value`);
    if (settingSpec(key) === undefined) throw new ConfigError(`--set ${assignment}: unknown setting "${key}"`);
    list.push({ key: key as SettingKey, text: assignment.slice(equals + 1), source: `--set ${key}` });
  }
  return list;
}

export async function runCommand(options: RunOptions, version: string): Promise<void> {
  const configInput = { file: options.config, env: process.env, overrides: overrides(options) };
  const config = loadConfig(configInput);
  const logger = createLogger({ level: config.settings.log_level, fd: config.settings.sink === 'stdout' ? 2 : 1, format: config.settings.log_format });
  const log = logger.root;

  let daemon: Daemon | undefined;
  let stopSignal: string | undefined;
  const exit = (code: number): void => {
    // Exits even when the log cannot be flushed (its reader is gone): a stuck flush must not keep a
    // stopped daemon alive.
    setTimeout(() => process.exit(code), 1000);
    void logger.flush().then(() => process.exit(code));
  };
  const stop = (reason: string, code?: number): void => {
    if (daemon === undefined) return;
    const timeout = setTimeout(() => {
      log.error({ timeoutMs: config.settings.shutdown_timeout_ms }, 'stopping took too long: exiting now');
      exit(ExitCode.failure);
    }, config.settings.shutdown_timeout_ms);
    timeout.unref();
    void daemon.stop(reason).then((stopped) => exit(code ?? stopped));
  };
  const onStopSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) {
      log.warn({ signal }, 'second stop signal: exiting at once');
      exit(ExitCode.failure);
      return;
    }
    stopSignal = signal;
    stop(signal);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
    void daemon?.reload();
  });
  process.on('uncaughtException', (error) => {
    // A bug, not bad input (records cannot throw here): stop cleanly so the kernel is put back.
    log.fatal({ err: error }, 'unexpected error: stopping');
    if (daemon === undefined) exit(ExitCode.failure);
    else void daemon.stop('error').then(() => exit(ExitCode.failure));
  });

  try {
    daemon = await Daemon.start({
      config,
      configInput,
      logger,
      version,
      force: options.force ?? false,
      // Exit non-zero so systemd restarts it (Restart=on-failure).
      onFatal: (reason) => stop(reason, ExitCode.failure),
    });
  } catch (error) {
    const failure = describeFailure(error);
    log.fatal({ code: failure.code, reason: failure.message }, 'cannot start');
    await logger.flush();
    throw error;
  }
  if (stopSignal !== undefined) stop(stopSignal);
}
