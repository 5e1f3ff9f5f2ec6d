import { UserFacingError } from "../../cli/usage_error.ts";

export interface TlsMaterial {
  caFile: string;
  keystoreFile: string;
  keystorePassword: string;
}

/**
 * Makes a throwaway CA and a broker certificate for 127.0.0.1/localhost with openssl, packed as
 * the PKCS12 keystore the broker reads. Clients trust the CA file, as with a managed service.
 */
export async function makeTlsMaterial(dir: string): Promise<TlsMaterial> {
  const tls = `${dir}/tls`;
  await Deno.mkdir(tls, { recursive: true });
  const password = crypto.randomUUID();
  await Deno.writeTextFile(
    `${tls}/broker.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  const steps: string[][] = [
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=fraudstream test CA",
      "-keyout",
      `${tls}/ca.key`,
      "-out",
      `${tls}/ca.pem`,
    ],
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      `${tls}/broker.key`,
      "-out",
      `${tls}/broker.csr`,
    ],
    [
      "x509",
      "-req",
      "-in",
      `${tls}/broker.csr`,
      "-CA",
      `${tls}/ca.pem`,
      "-CAkey",
      `${tls}/ca.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${tls}/broker.ext`,
      "-out",
      `${tls}/broker.pem`,
    ],
    [
      "pkcs12",
      "-export",
      "-in",
      `${tls}/broker.pem`,
      "-inkey",
      `${tls}/broker.key`,
      "-certfile",
      `${tls}/ca.pem`,
      "-name",
      "broker",
      "-out",
      `${tls}/broker.p12`,
      "-passout",
      `pass:${password}`,
    ],
  ];
  for (const args of steps) {
    let out;
    try {
      out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
    } catch {
      throw new UserFacingError("the SASL_SSL test broker needs openssl on PATH");
    }
    if (!out.success) {
      throw new UserFacingError(
        `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim().split("\n")[0]}`,
      );
    }
  }
  return { caFile: `${tls}/ca.pem`, keystoreFile: `${tls}/broker.p12`, keystorePassword: password };
}
