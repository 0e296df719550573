import assert from "node:assert/strict";
import { test } from "node:test";
import * as fusionkit from "../../src/index.ts";
import { attributionForRows } from "../../src/explain/rows.ts";
import { shapleyFromValues } from "../../src/explain/shapley.ts";

test("src/index.ts exposes the explain, align, export, serve and bench APIs", () => {
  const api = fusionkit as unknown as Record<string, unknown>;
  const names = [
    "attributionForRows", "explainForReport", "modalityShapley", "shapleyFromValues",
    "trainAlignment", "evaluateAligned", "buildIndex", "searchIndex", "retrievalForReport",
    "exportModel", "exportTrainedModel", "createOnnxRunner",
    "buildServeApp",
    "runBench", "renderReportHtml",
  ];
  for (const name of names) assert.equal(typeof api[name], "function", name);
  // the same functions, not copies
  assert.equal(fusionkit.attributionForRows, attributionForRows);
  // and a working one: two players, v(empty) 0, v({0}) 1, v({1}) 2, v(both) 4 -> phi = (1.5, 2.5)
  assert.deepEqual([...fusionkit.shapleyFromValues([0, 1, 2, 4], 2)], [...shapleyFromValues([0, 1, 2, 4], 2)]);
  assert.deepEqual([...fusionkit.shapleyFromValues([0, 1, 2, 4], 2)], [1.5, 2.5]);
});
