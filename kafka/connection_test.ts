import assert from "node:assert/strict";
import { UserFacingError } from "../cli/usage_error.ts";
import { checkCaBundle } from "./connection.ts";
import { makeExpiredCa, makeTlsMaterial } from "./local/tls_material.ts";

Deno.test("a CA file is refused when it holds no certificate valid now", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-ca-" });
  try {
    const { caFile } = await makeTlsMaterial(dir);
    const good = await Deno.readTextFile(caFile);
    const expired = await Deno.readTextFile(await makeExpiredCa(caFile, `${dir}/expired`));
    checkCaBundle("ca.pem", good);
    // A bundle is fine while one of its CAs is: a rotation keeps the old one beside the new.
    checkCaBundle("bundle.pem", expired + good);
    assert.throws(
      () => checkCaBundle("old.pem", expired),
      (e: Error) =>
        e instanceof UserFacingError &&
        e.message ===
          "--ssl-ca-file old.pem: its CA certificate (CN=fraudstream test CA) expired on " +
            "Jan 31 00:00:00 2020 GMT",
    );
    assert.throws(
      () => checkCaBundle("early.pem", good, Date.UTC(2000, 0, 1)),
      /early\.pem: its CA certificate \(CN=fraudstream test CA\) is not valid before /,
    );
    assert.throws(
      () => checkCaBundle("key.pem", "not a certificate"),
      /key\.pem: no PEM certificate/,
    );
    assert.throws(
      () =>
        checkCaBundle("cut.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
      /cut\.pem: holds a certificate that cannot be read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
