/**
 * Errors raised by the Noise layer. Handshake and decryption failures on received data
 * are expected under attack or corruption: callers catch {@link NoiseError} and count a drop.
 *
 * @module
 */

/** A Noise message could not be processed (bad length, failed authentication, bad key). */
export class NoiseError extends Error {
  override readonly name = 'NoiseError';
}
