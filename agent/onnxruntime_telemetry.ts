/**
 * ONNX Runtime 1.30's Linux library has Microsoft telemetry switched on: loading it writes
 * ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ (a device id and an event database),
 * $TMPDIR/.ses and $TMPDIR/mat-debug-<pid>.log, and it is built to upload events to
 * mobile.events.data.microsoft.com. A scoring agent in a bank sends nothing to third parties
 * and writes only where it is told (the systemd units give it a private /tmp and nothing else),
 * so it is switched off for this process before the library loads; the library reads this
 * variable when its telemetry starts.
 */
Deno.env.set("ORT_DISABLE_TELEMETRY", "1");
