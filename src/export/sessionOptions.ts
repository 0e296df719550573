/**
 * What every ONNX Runtime CPU session of ours sets in its config entries
 * (`extra.session`): denormal floats (|x| < 1.2e-38) flushed to zero.
 * Softmax and cross-entropy over confident logits make them (exp of -88 and
 * below), and x86 cores compute with them in slow microcode. Measured on a
 * 6-method emoji bench (docs/benchmarks.md): 10-21% less wall time, with
 * every training loss and prediction identical to the last bit (a value below
 * 1.2e-38 changes no float32 sum it joins). test/export/sessionOptions.test.ts
 * checks the setting takes effect.
 */
export function sessionConfig(options: { spinning?: boolean } = {}): { session: Record<string, unknown> } {
  return {
    session: {
      set_denormal_as_zero: "1",
      // a worker thread's session shares 2 cores with another: no busy-waiting between operators
      ...(options.spinning ? {} : { intra_op: { allow_spinning: "0" } }),
    },
  };
}
