import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { IndexEvent } from '../inventory/indexer.js';

/**
 * Progress of long work: bars on a terminal (one per layer being read), plain log lines otherwise
 * (CI logs, files). Both go to stderr so that stdout stays the report.
 */
export interface ProgressReporter {
  onEvent(event: IndexEvent): void;
  stop(): void;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export function progressReporter(stream: NodeJS.WriteStream): ProgressReporter {
  if (!stream.isTTY) {
    return {
      onEvent(e) {
        if (e.type !== 'layer') return;
        const what =
          e.state === 'cached' ? 'cached' : e.state === 'reading' ? 'reading' : 'analysed';
        stream.write(
          `layer ${e.index + 1}/${e.total} ${short(e.digest)} (${mib(e.size)}): ${what}\n`,
        );
      },
      stop() {},
    };
  }
  const multi = new MultiBar(
    {
      format: '{name} [{bar}] {percentage}% {value}/{total} bytes',
      stream,
      clearOnComplete: true,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, SingleBar>();
  return {
    onEvent(e) {
      if (e.type === 'layer') {
        if (e.state === 'reading')
          bars.set(
            e.digest,
            multi.create(e.size, 0, { name: `layer ${e.index + 1}/${e.total} ${short(e.digest)}` }),
          );
        if (e.state === 'done') {
          const bar = bars.get(e.digest);
          if (bar) multi.remove(bar);
          multi.log(`layer ${e.index + 1}/${e.total} ${short(e.digest)} analysed\n`);
        }
        if (e.state === 'cached')
          multi.log(`layer ${e.index + 1}/${e.total} ${short(e.digest)} cached\n`);
      } else {
        bars.get(e.digest)?.increment(e.bytes);
      }
    },
    stop() {
      multi.stop();
    },
  };
}
