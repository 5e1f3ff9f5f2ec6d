import assert from "node:assert/strict";
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
} from "@platformatic/kafka";
import { isRebalance, isTransient, platformaticErrorText } from "./config.ts";

/** The error trees the library builds when it cannot connect, as seen against a real broker. */
function cannotConnect(cause: Error) {
  return new MultipleErrors("Cannot connect to any broker.", [
    new NetworkError("Connection to 127.0.0.1:9093 failed.", { cause }),
  ]);
}

Deno.test("a refused connection is transient; a refused password or certificate is not", () => {
  assert.ok(isTransient(cannotConnect(new Error("connect ECONNREFUSED 127.0.0.1:9093"))));
  const sasl = new AuthenticationError("SASL authentication failed.", {
    cause: new ProtocolError("SASL_AUTHENTICATION_FAILED"),
  });
  assert.ok(!isTransient(cannotConnect(sasl)));
  const tls = Object.assign(new Error("self-signed certificate in certificate chain"), {
    code: "SELF_SIGNED_CERT_IN_CHAIN",
  });
  assert.ok(!isTransient(cannotConnect(tls)));
  assert.ok(isTransient(new ProtocolError("NOT_LEADER_OR_FOLLOWER")));
});

Deno.test("rebalance errors are told from others", () => {
  assert.ok(isRebalance(new MultipleErrors("x", [new ProtocolError("REBALANCE_IN_PROGRESS")])));
  assert.ok(isRebalance(new ProtocolError("ILLEGAL_GENERATION")));
  assert.ok(!isRebalance(new ProtocolError("NOT_LEADER_OR_FOLLOWER")));
});

Deno.test("one line: the library's generic top message and the cause at the bottom", () => {
  const sasl = new AuthenticationError("SASL authentication failed.");
  assert.equal(
    platformaticErrorText(cannotConnect(sasl)),
    "Cannot connect to any broker: SASL authentication failed.",
  );
});
