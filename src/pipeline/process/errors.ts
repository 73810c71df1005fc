// The one error the process stage raises: a configuration it cannot use. The daemon reports it
// at start-up (or on reload) with the setting it names; flows never raise errors here.
export class ProcessConfigError extends Error {
  override name = 'ProcessConfigError';
}
