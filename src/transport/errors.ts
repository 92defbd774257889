// Errors a user can cause when starting a transport: a bad option, a missing or unusable native
// build. Each ends in one line at the CLI that says what to do.

export class TransportConfigError extends Error {
  override name = 'TransportConfigError';
}

// The uWebSockets.js server was asked for but cannot run natively here. The message names the
// cause (Node version and ABI, platform, what is installed) and the two ways out.
export class UwsUnavailableError extends TransportConfigError {
  override name = 'UwsUnavailableError';
}
