/**
 * Redis servers with options of the test's own (TLS, the DEBUG command), and a private PKI made
 * with openssl for the TLS tests. Servers listen on loopback only and are stopped by pid.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/redis/localServer.js";

export interface OwnServer {
  port: number;
  stop(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts `redis-server` on a free loopback port with extra arguments. With `tls`, the port is a
 * TLS port and the plain one is off. The server holds no data, so it is ready once it listens.
 */
export async function startRedisServer(args: string[], tls = false): Promise<OwnServer> {
  const port = await freePort();
  const portArgs = tls ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)];
  const child: ChildProcess = spawn("redis-server", [...portArgs, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...args], { stdio: "ignore" });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server ${args.join(" ")} did not start on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    stop: async () => {
      process.off("exit", killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** PEM files of a private PKI, in a fresh temporary directory. */
export interface Pki {
  dir: string;
  /** The CA that signs the server's and the client's certificates. */
  ca: string;
  /** Server certificate for the name `redis.test` only (no IP), and its key. */
  serverCert: string;
  serverKey: string;
  /** Client certificate (clientAuth) and its key. */
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed nothing the server uses. */
  otherCa: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** Makes a CA, a server and a client certificate signed by it, and an unrelated CA (RSA 2048, valid one day). */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "mathd-pki-"));
  const ca = (name: string) => openssl(dir, "req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "1", "-subj", `/CN=${name}`);
  const leaf = (name: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, "req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
  };
  ca("ca");
  ca("other-ca");
  leaf("server", "subjectAltName=DNS:redis.test\nextendedKeyUsage=serverAuth\n");
  leaf("client", "extendedKeyUsage=clientAuth\n");
  const at = (file: string) => join(dir, file);
  return {
    dir,
    ca: at("ca.crt"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
    clientCert: at("client.crt"),
    clientKey: at("client.key"),
    otherCa: at("other-ca.crt"),
  };
}

/** A TLS redis-server with the PKI's server certificate; `clients: true` requires client certificates. */
export function startTlsRedis(pki: Pki, clients: boolean): Promise<OwnServer> {
  return startRedisServer(
    ["--tls-cert-file", pki.serverCert, "--tls-key-file", pki.serverKey, "--tls-ca-cert-file", pki.ca, "--tls-auth-clients", clients ? "yes" : "no"],
    true,
  );
}
