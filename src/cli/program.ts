import { Command } from 'commander';

export function program(): Command {
  const cmd = new Command('regscan').description('Scan container images for known vulnerabilities');
  return cmd;
}
