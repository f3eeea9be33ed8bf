/**
 * Options and arguments shared by several commands, so the same flag means the same
 * thing (and is validated the same way) everywhere.
 *
 * @module
 */
import type { PositionalSpec } from './command.ts';
import { flag, optional, repeated, required, requiredRepeated } from './options.ts';
import { decimal, hostPort, oneOf, positive, text, wavInput, wavOutput } from './values.ts';

/** Longest display name / search text, in characters. */
export const MAX_NAME_LENGTH = 64;

/** `--seed HOST:PORT`, required, repeatable. */
export const seedOption = requiredRepeated('HOST:PORT', 'supernode to join the network through (IP address and port)', hostPort());

/** `--seed HOST:PORT` for long-running nodes: optional (the host cache and mDNS on the LAN also find supernodes). */
export const optionalSeedOption = repeated('HOST:PORT', 'supernode to join the network through (IP address and port); without: the host cache and mDNS on the LAN', hostPort());

/** `--no-mdns`: no LAN discovery. */
export const noMdnsOption = flag('do not find (or, as a supernode, announce) supernodes on the LAN with mDNS');

/** `--metrics HOST:PORT`: Prometheus metrics over HTTP (`GET /metrics`); port 0 picks a free one. */
export const metricsOption = optional('HOST:PORT', 'serve Prometheus metrics over HTTP on this address (GET /metrics)', hostPort({ allowAnyPort: true }));

/** `--name N`: this node's display name. */
export const nameOption = required('N', 'your display name (not unique: contacts are pinned by key)', text(MAX_NAME_LENGTH));

/** `--listen HOST:PORT` for the UDP socket; port 0 picks a free one. */
export const listenOption = optional('HOST:PORT', 'UDP address to bind (default: 0.0.0.0:0, any free port)', hostPort({ allowAnyPort: true }));

/** `--play F.wav`: audio to send. */
export const playOption = optional('F.wav', 'send this WAV file as your voice', wavInput);

/** `--tone HZ`: a sine tone to send. */
export const toneOption = optional('HZ', 'send a sine tone of HZ hertz (20-20000)', decimal(20, 20000));

/** `--record F.wav`: where to write what is heard. */
export const recordOption = optional('F.wav', 'record what you hear to this WAV file', wavOutput);

/** `--duration S`: stop after S seconds. */
export const durationOption = optional('S', 'stop after S seconds (default: until hangup or Ctrl-C)', positive(86_400));

/** `--echo`: answer with the echo service. */
export const echoOption = flag('answer with the echo service (plays back what it hears)');

/** A `NAME` argument: someone's display name. */
export function nameArgument(help: string): PositionalSpec {
  return { name: 'NAME', help, parse: text(MAX_NAME_LENGTH) };
}

/** Where each feature comes from, for "not available yet" messages. */
export const COMING = {
  calls: 'calls land with issue #5',
  demo: 'the demo call lands with issue #5',
  echo: 'the echo service lands with issue #5',
  overlay: 'the overlay (bootstrap, election, directory) lands with issue #3',
  supernode: 'the supernode role lands with issues #3 and #5',
  directory: 'the directory lands with issue #3',
  search: 'search lands with issue #3',
  sim: 'the overlay simulator lands with issue #3',
  streaming: 'streaming lands with a later issue',
} as const;

/** Audio backends selectable with `--audio` (see src/audio/select.ts). */
export const AUDIO_BACKEND_NAMES = ['pulse', 'alsa', 'file', 'tone', 'null'] as const;

/** `--audio BACKEND`: where microphone and speaker audio come from and go to. */
export const audioOption = optional(
  'BACKEND',
  'audio devices: pulse, alsa, file, tone or null (default: pulse; --play/--tone/--record imply file/tone)',
  oneOf(AUDIO_BACKEND_NAMES),
);

/** `--mic DEVICE`: capture device name for the pulse/alsa backends. */
export const micDeviceOption = optional('DEVICE', 'microphone device for --audio pulse/alsa (default: the system default)', text(256));

/** `--speaker DEVICE`: playback device name for the pulse/alsa backends. */
export const speakerDeviceOption = optional('DEVICE', 'speaker device for --audio pulse/alsa (default: the system default)', text(256));
