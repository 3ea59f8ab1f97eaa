/** CPU time of any process (nats-server, say) from procfs: utime + stime, in microseconds. */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ is 100 on Linux). */
const TICKS_PER_SECOND = 100;

export function procCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / TICKS_PER_SECOND;
}

/**
 * CPU time every process on the machine spent so far, all cores (procfs /proc/stat: user, nice,
 * system, irq, softirq, steal), in microseconds: minus the processes under test, what other work
 * took from the same cores during a round.
 */
export function machineBusyMicros(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1e6) / TICKS_PER_SECOND;
}
