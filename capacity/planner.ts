import type { KafkaAdmin, KafkaClient } from "../kafka/boundary.ts";
import type { AgentStatsDocument } from "../agent/stats_document.ts";
import { UserFacingError } from "../cli/usage_error.ts";
import { readAgentStats } from "../fleet/agent_poll.ts";
import { errorText } from "../kafka/connection.ts";
import { describeTopics, ensureTopics, type TopicNames, topicNames } from "../kafka/topics.ts";
import {
  connectRemoteFleet,
  type Fleet,
  type RemoteFleet,
  startLocalFleet,
} from "./agent_fleet.ts";
import { drainRate, type DrainResult } from "./drain.ts";
import { analyseStep, findKnee, isLoose, type Knee, type StepResult } from "./knee.ts";
import { LagSampler, type SampleContext } from "./lag_sampler.ts";
import { LoadDriver } from "./load_driver.ts";
import type { LagSample } from "./sample.ts";

/** First drain backlog per agent; later rounds size it from the rate the previous one showed. */
const INITIAL_BACKLOG_PER_AGENT = 5000;
const MAX_BACKLOG = 2_000_000;
const MAX_DRAIN_ROUNDS = 4;
/** All steps bounded and the driver kept up: continue the ramp by this factor, this often. */
const EXTRA_STEP_FACTOR = 1.2;
const MAX_EXTRA_STEPS = 3;
/** Nothing bounded after UNBOUNDED_TO_STOP steps: go down by this factor, this often. */
const DOWN_STEP_FACTOR = 0.5;
/** The ramp stops after this many unbounded steps in a row: the knee is bracketed by then. */
const UNBOUNDED_TO_STOP = 2;
/** A step whose measured input fell below this share of its target was limited by the driver. */
const DRIVER_SHORTFALL = 0.9;
/** No consumption for this long while lag remains: the agents are stuck. */
const STALL_MS = 30_000;

export interface PlanOptions {
  kafka: KafkaClient;
  admin: KafkaAdmin;
  /** Connection flags for agent children. */
  connectionArgs: string[];
  /** Stats URLs of running agents: measure them instead of starting agents. */
  remoteAgents: string[] | null;
  remoteTimeoutMs: number;
  maxAgents: number;
  partitions: number;
  replicationFactor: number;
  /**
   * Topic prefix of the run; local measurements add n<N>. to it. Null with remote agents: the
   * prefix of the topic they report lag for.
   */
  topicPrefix: string | null;
  stepFractions: number[];
  stepSeconds: number;
  settleSeconds: number;
  drainSeconds: number;
  agentArgs: string[];
  files: string[];
  labelDelayMs: number | null;
  logDir: string;
  readyTimeoutMs: number;
  keepTopics: boolean;
  signal: AbortSignal;
  progress: (line: string) => void;
}

export interface DrainRound {
  backlog: number;
  /** Rate the driver wrote the backlog at, msg/s. */
  writeRate: number;
  result: DrainResult | null;
}

export interface StepRecord extends StepResult {
  phase: string;
  fromT: number;
  toT: number;
  /** The driver did not reach the target: the producer, not the agents, set this rate. */
  driverLimited: boolean;
  /**
   * Set when the step was held twice as long: the fit of its first part, whose lag grew although
   * the rate was below the drain rate (the step's own fields then describe the extension alone,
   * `judged: "extension"`), or whose fit was loose (they describe the whole step, `"whole"`).
   */
  firstFit: {
    lagSlope: number;
    lagSlopeSe: number;
    samples: number;
    judged: "extension" | "whole";
  } | null;
}

export interface Measurement {
  agents: number;
  group: string;
  topics: TopicNames;
  partitions: number;
  drainRounds: DrainRound[];
  /** The accepted drain measurement (the last round's), null when none could be fitted. */
  drain: DrainResult | null;
  /** The rate the step fractions multiply: the drain rate, else the driver's write rate. */
  base: number;
  steps: StepRecord[];
  knee: Knee;
  /** Every step was bounded and the last one was limited by the driver, not by the agents. */
  driverLimited: boolean;
  /** Each agent's /stats at the end of the measurement, or why it could not be read. */
  agentStats: (AgentStatsDocument | { url: string; error: string })[];
  fromT: number;
  toT: number;
}

export interface PlanResult {
  startedAt: string;
  measurements: Measurement[];
  samples: LagSample[];
  /** Remote agents that did not answer. */
  unreachable: { url: string; error: string }[];
  /** Partitions of the transactions topic measured (the remote fleet's, or the run's). */
  partitions: number;
  remote: boolean;
  topicPrefix: string;
}

/**
 * The capacity method: per fleet size, (a) drain a backlog to estimate the rate, (b) step the
 * input rate around that estimate while sampling lag every second, find the knee; then (c)
 * the next fleet size. Remote fleets are measured at the size they have.
 */
export async function runPlan(o: PlanOptions): Promise<PlanResult> {
  const t0Ms = Date.now();
  const samples: LagSample[] = [];
  const measurements: Measurement[] = [];
  let remote: RemoteFleet | null = null;
  let topicPrefix = o.topicPrefix ?? "";
  let sizes = Array.from({ length: o.maxAgents }, (_, i) => i + 1);
  let remotePartitions = 0;
  if (o.remoteAgents) {
    remote = await connectRemoteFleet(o.remoteAgents, o.remoteTimeoutMs);
    for (const u of remote.unreachable) {
      o.progress(`agent ${u.url} does not answer (${u.error}): measuring without it`);
    }
    if (o.topicPrefix === null && remote.topic.endsWith("transactions")) {
      topicPrefix = remote.topic.slice(0, -"transactions".length);
    }
    remotePartitions = await remoteTopicPartitions(o.admin, topicNames(topicPrefix), remote);
    const members = await groupMembers(o, remote);
    if (members > remotePartitions) {
      throw new UserFacingError(
        `${members} agents consume in ${remote.group} but ${topicPrefix}transactions has ${remotePartitions} partitions: a group uses at most one agent per partition`,
      );
    }
    sizes = [members];
  }
  let partitions = o.partitions;
  for (const n of sizes) {
    const m = await measure(o, topicPrefix, n, t0Ms, samples, remote, remotePartitions);
    partitions = m.partitions;
    measurements.push(m);
    if (m.driverLimited && n < sizes.length) {
      o.progress(
        `the load driver could not overload ${n} agent${
          n === 1 ? "" : "s"
        } on this machine: larger fleets are not measured`,
      );
      break;
    }
  }
  return {
    startedAt: new Date(t0Ms).toISOString(),
    measurements,
    samples,
    unreachable: remote?.unreachable ?? [],
    partitions,
    remote: remote !== null,
    topicPrefix,
  };
}

async function measure(
  o: PlanOptions,
  runPrefix: string,
  n: number,
  t0Ms: number,
  allSamples: LagSample[],
  remote: RemoteFleet | null,
  remotePartitions: number,
): Promise<Measurement> {
  const label = `${n} agent${n === 1 ? "" : "s"}`;
  const prefix = remote ? runPrefix : `${runPrefix}n${n}.`;
  const topics = topicNames(prefix);
  const group = remote ? remote.group : `${prefix}agents`;
  const partitions = remote ? remotePartitions : await createTopics(o, topics);
  const ctx: SampleContext = { phase: "setup", agents: n, targetRate: null };
  const driver = new LoadDriver(o.kafka, { topics, files: o.files, labelDelayMs: o.labelDelayMs });
  const sampler = new LagSampler(o.admin, group, topics.transactions, t0Ms, () => ({
    ...ctx,
    targetRate: driver.target,
  }));
  let fleet: Fleet | null = remote;
  const startFleet = () =>
    startLocalFleet({
      count: n,
      group,
      topicPrefix: prefix,
      connectionArgs: o.connectionArgs,
      agentArgs: o.agentArgs,
      instancePrefix: `${prefix}agent`,
      logDir: o.logDir,
      readyTimeoutMs: o.readyTimeoutMs,
    });
  const fromT = (Date.now() - t0Ms) / 1000;
  try {
    await driver.connect();
    sampler.start();

    const drainRounds: DrainRound[] = [];
    let backlog = INITIAL_BACKLOG_PER_AGENT * n;
    for (let round = 1;; round++) {
      checkAborted(o.signal);
      // Local agents are stopped while the backlog is written, so that the driver does not
      // compete with them for the CPU and the drain shows the agents alone.
      if (!remote && fleet) {
        await fleet.stop();
        fleet = null;
      }
      ctx.phase = "preload";
      const roundStart = sampler.samples.length;
      const written = await driver.run(null, { count: backlog, signal: o.signal });
      const writeRate = written.sent / written.seconds;
      ctx.phase = "drain";
      if (!fleet) {
        o.progress(
          `${label}: ${written.sent} messages written at ${
            Math.round(writeRate)
          }/s, starting the agents`,
        );
        fleet = await startFleet();
      }
      await waitDrained(sampler, o.signal, o.logDir);
      const result = drainRate(sampler.samples.slice(roundStart));
      drainRounds.push({ backlog, writeRate, result });
      o.progress(
        `${label}: drain of ${backlog} messages: ${
          result
            ? `${Math.round(result.rate)} msg/s over ${(result.toT - result.fromT).toFixed(1)} s`
            : "too fast to fit"
        }`,
      );
      if (result && result.toT - result.fromT >= o.drainSeconds / 2) break;
      if (round >= MAX_DRAIN_ROUNDS || backlog >= MAX_BACKLOG) break;
      backlog = Math.min(
        MAX_BACKLOG,
        result ? Math.max(backlog * 2, Math.ceil(result.rate * o.drainSeconds)) : backlog * 10,
      );
    }
    const lastRound = drainRounds[drainRounds.length - 1];
    const drain = lastRound.result;
    const base = drain?.rate ?? lastRound.writeRate;

    const steps: StepRecord[] = [];
    const rates = [...o.stepFractions].sort((a, b) => a - b).map((f) => f * base);
    let unboundedInRow = 0;
    let extra = 0;
    let down = 0;
    let driverLimited = false;
    for (let k = 0; k < rates.length; k++) {
      checkAborted(o.signal);
      const phase = `step ${k + 1}`;
      ctx.phase = phase;
      const from = sampler.samples.length;
      await driver.run(rates[k], { durationMs: o.stepSeconds * 1000, signal: o.signal });
      ctx.phase = "between steps";
      const window = sampler.samples.slice(from).filter((s) => s.phase === phase);
      let result = analyseStep(k + 1, rates[k], window, o.settleSeconds);
      let firstFit: StepRecord["firstFit"] = null;
      let toT = window.at(-1)?.t ?? NaN;
      // Below the drain rate a growing lag may only be rising to the higher level a busier queue
      // keeps in flight: hold the rate and judge the step on the extension alone. Too wide a fit
      // is no evidence that the agents kept up: hold it too, and twice the samples narrow it.
      const hold = !result.bounded && drain && rates[k] < drain.rate
        ? "extension"
        : isLoose(result)
        ? "whole"
        : null;
      if (hold) {
        o.progress(
          `${label}: ${phase}: ${
            hold === "extension"
              ? "lag grew below the drain rate"
              : `lag slope ${result.lagSlope.toFixed(1)} ± ${
                result.lagSlopeSe.toFixed(1)
              }/s is above the tolerance but within its error`
          }, holding ${o.stepSeconds} s more`,
        );
        firstFit = {
          lagSlope: result.lagSlope,
          lagSlopeSe: result.lagSlopeSe,
          samples: result.samples,
          judged: hold,
        };
        ctx.phase = phase;
        const more = sampler.samples.length;
        await driver.run(rates[k], { durationMs: o.stepSeconds * 1000, signal: o.signal });
        ctx.phase = "between steps";
        const held = sampler.samples.slice(hold === "extension" ? more : from)
          .filter((s) => s.phase === phase);
        result = analyseStep(k + 1, rates[k], held, hold === "extension" ? 0 : o.settleSeconds);
        toT = held.at(-1)?.t ?? toT;
      }
      const limited = result.inputRate < DRIVER_SHORTFALL * rates[k];
      steps.push({
        ...result,
        phase,
        fromT: window[0]?.t ?? NaN,
        toT,
        driverLimited: limited,
        firstFit,
      });
      o.progress(
        `${label}: ${phase} at ${Math.round(rates[k])} msg/s: input ${
          Math.round(result.inputRate)
        }, ` +
          `throughput ${Math.round(result.throughput)}, lag slope ${
            result.lagSlope.toFixed(1)
          } ± ` +
          `${result.lagSlopeSe.toFixed(1)}/s -> ${result.bounded ? "bounded" : "GROWING"}${
            limited ? " (the driver could not send faster)" : ""
          }`,
      );
      unboundedInRow = result.bounded ? 0 : unboundedInRow + 1;
      if (unboundedInRow >= UNBOUNDED_TO_STOP && !steps.some((s) => s.bounded)) {
        // The agents sustain less than the drain suggested (a backlog drains in large batches,
        // a live stream does not): go down until a step is bounded, if that comes soon.
        if (down >= MAX_EXTRA_STEPS) break;
        rates.splice(k + 1, rates.length, Math.min(...rates.slice(0, k + 1)) * DOWN_STEP_FACTOR);
        down++;
        continue;
      }
      if (unboundedInRow >= UNBOUNDED_TO_STOP) break;
      // A bounded step below steps that all grew brackets the knee: nothing to gain above it.
      if (down > 0 && result.bounded) break;
      if (result.bounded && limited) {
        driverLimited = true;
        break;
      }
      if (k === rates.length - 1 && steps.every((s) => s.bounded) && extra < MAX_EXTRA_STEPS) {
        rates.push(rates[k] * EXTRA_STEP_FACTOR);
        extra++;
      }
    }
    const knee = findKnee(steps);
    const agentStats = await Promise.all(
      (fleet?.urls ?? []).map(async (url) => {
        const { doc, error } = await readAgentStats(url, 5000);
        return doc ?? { url, error };
      }),
    );
    return {
      agents: n,
      group,
      topics,
      partitions,
      drainRounds,
      drain,
      base,
      steps,
      knee,
      driverLimited: driverLimited && knee.status === "not_reached",
      agentStats,
      fromT,
      toT: (Date.now() - t0Ms) / 1000,
    };
  } finally {
    await sampler.stop();
    allSamples.push(...sampler.samples);
    await driver.close();
    if (!remote) {
      await fleet?.stop();
      await cleanUp(o, prefix, topics);
    }
  }
}

/**
 * How many agents consume in the remote fleet's group, as Kafka sees it: that is the fleet the
 * load is shared by, whether or not each member's stats URL was given or answers.
 */
async function groupMembers(o: PlanOptions, remote: RemoteFleet): Promise<number> {
  const { members } = await o.admin.describeGroup(remote.group);
  if (members === 0) {
    throw new UserFacingError(
      `consumer group ${remote.group} has no members: the agents at ${
        remote.urls.join(", ")
      } are not consuming`,
    );
  }
  if (members !== remote.urls.length) {
    o.progress(
      `group ${remote.group} has ${members} members and ${remote.urls.length} of the given agents answer: measuring the group's ${members} agents`,
    );
  }
  return members;
}

/**
 * The measurement's own topics, created fresh: old messages would be a backlog the drain did
 * not write, and the topics are deleted afterwards, so existing ones are never used.
 */
async function createTopics(o: PlanOptions, topics: TopicNames): Promise<number> {
  const existing = (await describeTopics(o.admin, Object.values(topics)))
    .filter((t) => t.partitions > 0).map((t) => t.topic);
  if (existing.length) {
    throw new UserFacingError(
      `topics ${
        existing.join(", ")
      } already exist: the planner measures on fresh topics, pick another --topic-prefix`,
    );
  }
  const states = await ensureTopics(o.admin, topics, {
    partitions: o.partitions,
    replicationFactor: o.replicationFactor,
  });
  return states.find((s) => s.topic === topics.transactions)?.partitions ?? o.partitions;
}

async function remoteTopicPartitions(
  admin: KafkaAdmin,
  topics: TopicNames,
  remote: RemoteFleet,
): Promise<number> {
  if (remote.topic !== topics.transactions) {
    throw new UserFacingError(
      `the agents consume ${remote.topic}, not ${topics.transactions}: pass their --topic-prefix`,
    );
  }
  const states = await describeTopics(admin, [topics.transactions, topics.labels]);
  const missing = states.filter((s) => s.partitions === 0).map((s) => s.topic);
  if (missing.length) {
    throw new UserFacingError(
      `missing topics ${missing.join(", ")}: pass --topic-prefix with the prefix the agents at ${
        remote.urls.join(", ")
      } use`,
    );
  }
  return states[0].partitions;
}

/** Removes the run's consumer groups (agents' and their label readers') and topics. */
async function cleanUp(o: PlanOptions, prefix: string, topics: TopicNames): Promise<void> {
  try {
    const ours = (await o.admin.listGroups()).filter((g) => g.startsWith(prefix));
    if (ours.length) await o.admin.deleteGroups(ours);
    if (!o.keepTopics) await o.admin.deleteTopics(Object.values(topics));
  } catch (err) {
    o.progress(`could not remove the run's groups or topics (prefix ${prefix}): ${errorText(err)}`);
  }
}

/** Until the lag is zero; fails when the group makes no progress for STALL_MS. */
async function waitDrained(
  sampler: LagSampler,
  signal: AbortSignal,
  logDir: string,
): Promise<void> {
  let lastCommitted = -1;
  let lastProgress = Date.now();
  let seen = sampler.samples.length;
  let lastSampleAt = Date.now();
  for (;;) {
    checkAborted(signal);
    if (sampler.samples.length !== seen) {
      seen = sampler.samples.length;
      lastSampleAt = Date.now();
    }
    const s = sampler.samples.at(-1);
    if (s && s.committed !== lastCommitted) {
      lastCommitted = s.committed;
      lastProgress = Date.now();
    }
    if (s && s.lag === 0 && s.phase === "drain") return;
    if (Date.now() - lastSampleAt > STALL_MS) {
      throw new UserFacingError(`cannot read the group's offsets from Kafka: ${sampler.lastError}`);
    }
    if (Date.now() - lastProgress > STALL_MS) {
      throw new UserFacingError(
        `the agents made no progress for ${
          STALL_MS / 1000
        }s with ${s?.lag} messages left: see their logs in ${logDir}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new UserFacingError("interrupted");
}
