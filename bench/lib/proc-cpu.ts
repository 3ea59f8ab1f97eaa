/** CPU time of any process (nats-server, say) from procfs: utime + stime, in microseconds. */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ is 100 on Linux). */
const TICKS_PER_SECOND = 100;

export function procCpuMicros(pid: number): number {
  const { user, system } = procTimes(pid);
  return user + system;
}

/** User and kernel CPU time of a process from /proc/<pid>/stat, in microseconds (10 ms resolution). */
export function procTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1e6) / TICKS_PER_SECOND };
}

/**
 * CPU time of a process in nanoseconds, every thread included: the sum of the first field of
 * /proc/<pid>/task/<tid>/schedstat. Unlike /proc/<pid>/stat (10 ms ticks), it resolves the short
 * rounds a fan-out benchmark makes, so two identical servers do not look apart by quantisation.
 */
export function procCpuNanos(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
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
