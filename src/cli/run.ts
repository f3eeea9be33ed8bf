/**
 * Subcommand dispatch (placeholder until the CLI skeleton lands).
 * @module
 */
export async function runCli(argv: string[]): Promise<number> {
  if (argv.includes('--version')) {
    console.log('tincan 0.1.0');
    return 0;
  }
  console.error('tincan: commands are not implemented yet');
  return 1;
}
