/**
 * Warm start on the queue (src/bench/warmStart.ts): workers share no memory,
 * so the worker that runs a source job (a unimodal run other jobs start from,
 * marked `shareEncoder` by the coordinator) stores the encoder it trained in
 * Redis, as safetensors bytes under `fusionkit:encoder:<job id>:<modality>`
 * (the coordinator deletes them when the bench ends; they expire after a day
 * otherwise). The worker of a job that starts from it reads it there:
 * while the source job is being run it waits for it; when the source is
 * neither stored nor running (it failed, its worker died and it went back to
 * the queue, it expired), the job trains that unimodal model itself, which is
 * the same encoder (runs are deterministic for a seed), so no job ever waits
 * on one that no worker is running.
 */
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { decodeSafetensors, encodeSafetensors } from "../../engine/checkpoint.ts";
import { fillSkeleton, layoutOf, namedLeaves, type ParamTree } from "../../engine/params.ts";
import type { EncoderSource } from "../job.ts";
import { jobId } from "./protocol.ts";

/** seconds a stored encoder is kept (a bench that runs longer retrains what expired) */
export const encoderTtlS = 86_400;

export function encoderKey(bench: string, index: number, modality: string): string {
  return `fusionkit:encoder:${jobId(bench, index)}:${modality}`;
}

/** An encoder's tree as safetensors bytes; its structure rides in the metadata. */
export function encodeEncoder(tree: ParamTree): Uint8Array {
  const layout = layoutOf(tree);
  return encodeSafetensors(namedLeaves(tree), { skeleton: JSON.stringify(layout.skeleton), names: JSON.stringify(layout.entries.map((e) => e.name)) });
}

export function decodeEncoder(bytes: Uint8Array): ParamTree {
  const { tensors, metadata } = decodeSafetensors(bytes, "a shared encoder");
  const names = JSON.parse(metadata.names ?? "[]") as string[];
  return fillSkeleton<ParamTree>(JSON.parse(metadata.skeleton ?? "null"), names.map((name) => tensors.get(name)));
}

export async function storeEncoders(redis: Redis, bench: string, index: number, encoders: Record<string, ParamTree>): Promise<void> {
  for (const [modality, tree] of Object.entries(encoders)) {
    await redis.set(encoderKey(bench, index, modality), Buffer.from(encodeEncoder(tree)), "EX", encoderTtlS);
  }
}

/**
 * The encoders a job starts from that its sources' workers stored, by modality.
 * Waits while a source job is active; a modality left out is trained by the job itself.
 */
export async function sourceEncoders(
  queue: Queue,
  redis: Redis,
  bench: string,
  encodersFrom: Record<string, EncoderSource>,
  options: { pollMs?: number; stopped?: () => boolean } = {},
): Promise<{ encoders: Record<string, ParamTree>; trainedHere: string[] }> {
  const encoders: Record<string, ParamTree> = {};
  /** "unimodal:text (its job is failed)": the sources this job trains itself, and why */
  const trainedHere: string[] = [];
  for (const [modality, source] of Object.entries(encodersFrom)) {
    if (source.index < 0) {
      trainedHere.push(`${source.method} (not in this bench)`);
      continue;
    }
    const key = encoderKey(bench, source.index, modality);
    for (;;) {
      // the state first, then the key: a source stores its encoder before its job completes, so a
      // state read before the key cannot be "completed" while the key is still missing
      const job = await queue.getJob(jobId(bench, source.index));
      const state = job ? await job.getState() : "unknown";
      const bytes = await redis.getBuffer(key);
      if (bytes) {
        // bytes that do not decode (written by something else, or cut short) are not trusted: the job trains it
        try {
          encoders[modality] = decodeEncoder(bytes);
        } catch (error) {
          trainedHere.push(`${source.method} (its stored encoder is unreadable: ${(error as Error).message.split(". ")[0]})`);
        }
        break;
      }
      if (state !== "active" || options.stopped?.()) {
        trainedHere.push(`${source.method} (its job is ${options.stopped?.() ? "not awaited: this worker is closing" : state})`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    }
  }
  return { encoders, trainedHere };
}
