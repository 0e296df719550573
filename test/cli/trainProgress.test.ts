import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { epochEta, formatEpochLine, plainProgress, terminalProgress, trainProgressFor } from "../../src/cli/trainProgress.ts";
import type { EpochInfo } from "../../src/train/trainer.ts";

function epoch(n: number, best: boolean, loss: number): EpochInfo {
  return { epoch: n, epochs: 3, trainLoss: loss, valMetric: 0.5 + n / 10, valMetrics: { accuracy: 0.5 + n / 10, macroF1: 0.4 }, ms: 120, best, metricName: "accuracy", params: () => ({ encoders: {}, fusion: {} }) };
}

/** A terminal stand-in: what cli-progress calls on a TTY stream, with the text it writes kept. */
function fakeTerminal() {
  const chunks: string[] = [];
  const stream = {
    isTTY: true,
    columns: 160,
    write: (chunk: string) => (chunks.push(String(chunk)), true),
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
    on: () => stream,
    removeListener: () => stream,
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join("").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "") };
}

describe("train progress", () => {
  test("plain lines: one per epoch, the best marked", () => {
    const lines: string[] = [];
    const progress = plainProgress((line) => lines.push(line));
    progress.epoch(epoch(1, true, 0.75));
    progress.epoch(epoch(2, false, 0.5));
    progress.stop();
    assert.deepEqual(lines, [
      "epoch 1/3  loss 0.7500  val accuracy 0.6000  macroF1 0.4000  120 ms  *",
      "epoch 2/3  loss 0.5000  val accuracy 0.7000  macroF1 0.4000  120 ms",
    ]);
    assert.equal(formatEpochLine(epoch(3, false, 0.25)), "epoch 3/3  loss 0.2500  val accuracy 0.8000  macroF1 0.4000  120 ms");
  });

  test("on a terminal: a bar over the epochs with an ETA, the last loss and the best epoch", () => {
    const terminal = fakeTerminal();
    const progress = terminalProgress(3, terminal.stream);
    progress.epoch(epoch(1, true, 0.75));
    progress.epoch(epoch(2, false, 0.5));
    progress.stop();
    const text = terminal.text();
    assert.match(text, /epochs \|░+\| 0\/3 \| ETA \? \| first epoch running/);
    assert.match(text, /epochs \|█+░+\| 2\/3 \| ETA \d+s \| loss 0\.5000, val accuracy 0\.7000, best epoch 1 \(accuracy 0\.6000\), elapsed \d+s/);
    assert.doesNotMatch(text, /3\/3/);
  });

  test("ETA: the mean epoch time so far times the epochs left", () => {
    assert.equal(epochEta(0, 0, 20), "?");
    assert.equal(epochEta(10_000, 2, 20), "1m30s");
    assert.equal(epochEta(3_000, 3, 5), "2s");
    assert.equal(epochEta(5_000, 5, 5), "0s");
  });

  test("trainProgressFor: the bar only on a TTY, nothing with quiet", () => {
    const terminal = fakeTerminal();
    const quiet = trainProgressFor({ quiet: true, epochs: 3, stream: terminal.stream });
    quiet.epoch(epoch(1, true, 0.75));
    quiet.stop();
    assert.equal(terminal.text(), "");
    const bar = trainProgressFor({ epochs: 3, stream: terminal.stream });
    bar.epoch(epoch(1, true, 0.75));
    bar.stop();
    assert.match(terminal.text(), /1\/3/);
  });
});
