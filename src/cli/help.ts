/**
 * `--help` text, generated from the command specs so it never drifts from the parser.
 *
 * @module
 */
import type { AnyCommand } from './command.ts';
import { GLOBAL_OPTIONS } from './global.ts';
import { type OptionSpec, type OptionSpecs, flagName, isRepeatable, isRequired } from './options.ts';

const WIDTH = 26;

function pad(left: string, right: string): string {
  return left.length + 2 > WIDTH ? `${left}\n${' '.repeat(WIDTH)}${right}` : `${left.padEnd(WIDTH)}${right}`;
}

function optionTerm(key: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '';
  const value = spec.kind === 'value' ? ` ${spec.valueName}` : '';
  return `${short}--${flagName(key)}${value}`;
}

function optionLine(key: string, spec: OptionSpec): string {
  const notes: string[] = [];
  if (isRequired(spec)) notes.push('required');
  if (isRepeatable(spec)) notes.push('repeatable');
  if (spec.kind === 'value' && spec.arity === 'defaulted') notes.push(`default: ${spec.defaultText}`);
  const suffix = notes.length ? ` (${notes.join('; ')})` : '';
  return pad(`  ${optionTerm(key, spec)}`, `${spec.help}${suffix}`);
}

function synopsisPart(key: string, spec: OptionSpec): string {
  const body = spec.kind === 'value' ? `--${flagName(key)} ${spec.valueName}` : `--${flagName(key)}`;
  if (isRequired(spec)) return isRepeatable(spec) ? `${body}...` : body;
  return isRepeatable(spec) ? `[${body}]...` : `[${body}]`;
}

/** The usage line, e.g. `tincan call NAME --seed HOST:PORT... [--play F.wav | --tone HZ]`. */
export function synopsis(command: AnyCommand): string {
  const parts = [`tincan ${command.name}`];
  for (const p of command.positionals) parts.push(p.name);
  const grouped = new Map<string, { options: readonly string[]; required: boolean }>();
  for (const g of command.groups ?? []) for (const k of g.options) grouped.set(k, g);
  const done = new Set<string>();
  const options = command.options as OptionSpecs;
  for (const [key, spec] of Object.entries(options)) {
    const group = grouped.get(key);
    if (!group) {
      parts.push(synopsisPart(key, spec));
      continue;
    }
    if (done.has(group.options.join())) continue;
    done.add(group.options.join());
    const alts = group.options.map((k) => {
      const s = options[k]!;
      return s.kind === 'value' ? `--${flagName(k)} ${s.valueName}` : `--${flagName(k)}`;
    });
    parts.push(group.required ? `(${alts.join(' | ')})` : `[${alts.join(' | ')}]`);
  }
  return parts.join(' ');
}

function globalSection(): string[] {
  return ['Global options:', ...Object.entries(GLOBAL_OPTIONS as OptionSpecs).map(([k, s]) => optionLine(k, s))];
}

/** Full help for one command. */
export function commandHelp(command: AnyCommand): string {
  const lines = [`Usage: ${synopsis(command)}`, '', command.summary.charAt(0).toUpperCase() + command.summary.slice(1) + '.'];
  if (command.description) lines.push('', command.description);
  if (command.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of command.positionals) lines.push(pad(`  ${p.name}`, p.help));
  }
  const own = Object.entries(command.options as OptionSpecs);
  if (own.length) {
    lines.push('', 'Options:');
    for (const [k, s] of own) lines.push(optionLine(k, s));
  }
  lines.push('', ...globalSection());
  if (command.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of command.examples) lines.push(`  tincan ${e}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Help for `tincan --help`: the commands and the global options. */
export function mainHelp(commands: readonly AnyCommand[], version: string): string {
  const lines = [
    `tincan ${version}: peer-to-peer voice calls and audio streaming`,
    '',
    'Usage: tincan [COMMAND] [OPTIONS]',
    '',
    'With no command, tincan starts the terminal UI; when stdin/stdout is not a terminal',
    'it runs `tincan demo` instead.',
    '',
    'Commands:',
    ...commands.map((c) => pad(`  ${c.name}`, c.summary)),
    '',
    ...globalSection(),
    '',
    "Run 'tincan COMMAND --help' for a command's options.",
  ];
  return `${lines.join('\n')}\n`;
}
