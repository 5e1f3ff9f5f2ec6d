import { dirname } from "node:path";
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
  for (const args of steps) await openssl(args);
  return { caFile: `${tls}/ca.pem`, keystoreFile: `${tls}/broker.p12`, keystorePassword: password };
}

/**
 * The CA of makeTlsMaterial's `caFile` issued again with the same name and key but valid only in
 * January 2020: what a client holds when its CA file was not renewed. Written to outDir.
 */
export async function makeExpiredCa(caFile: string, outDir: string): Promise<string> {
  const key = `${dirname(caFile)}/ca.key`;
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(`${outDir}/index.txt`, "");
  await Deno.writeTextFile(`${outDir}/serial`, "01\n");
  await Deno.writeTextFile(
    `${outDir}/ca.cnf`,
    [
      "[ca]",
      "default_ca = expired",
      "[expired]",
      `database = ${outDir}/index.txt`,
      `new_certs_dir = ${outDir}`,
      `serial = ${outDir}/serial`,
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "[any]",
      "commonName = supplied",
      "[v3_ca]",
      "basicConstraints = critical, CA:true",
      "keyUsage = keyCertSign, cRLSign",
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  const subject = ["-subj", "/CN=fraudstream test CA"];
  await openssl(["req", "-new", "-key", key, ...subject, "-out", `${outDir}/ca.csr`]);
  // `openssl ca`, not `req -x509`: OpenSSL 3.0's req cannot set a start date in the past.
  await openssl([
    "ca",
    "-batch",
    "-selfsign",
    "-config",
    `${outDir}/ca.cnf`,
    "-keyfile",
    key,
    "-in",
    `${outDir}/ca.csr`,
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200131000000Z",
    "-extensions",
    "v3_ca",
    "-notext",
    "-out",
    `${outDir}/expired-ca.pem`,
  ]);
  return `${outDir}/expired-ca.pem`;
}

async function openssl(args: string[]): Promise<void> {
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
