import type { ScenarioResult } from '../lib/report.js';

export interface ScenarioContext {
  /** Fewer rounds and smaller sizes (a smoke run). */
  quick: boolean;
  /** Overrides the scenario's default number of interleaved rounds. */
  rounds?: number;
  /** Arm whose server runs under --cpu-prof (profiles land in bench/results/profiles/). */
  profile?: string;
  /** Runs only the scenario variants whose key contains this (e.g. `64B-burst16`). */
  only?: string;
  log(message: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  /** Why the scenario cannot run here (a transport not landed yet, say), or undefined. */
  unavailable?: () => Promise<string | undefined>;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
