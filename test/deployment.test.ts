import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import semver from "semver";
import {
  dockerfileEnv,
  durationMs,
  environmentOf,
  execForm,
  interpolate,
  readCompose,
  readDockerfile,
  root,
  type ComposeService,
} from "./support/deployment.ts";

const compose = readCompose();
const dockerfile = readDockerfile();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  workspaces: string[];
  engines: { node: string };
};
const loomServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

/** The port a service publishes for `container` (`host:container` or `ip:host:container`). */
function published(service: ComposeService, container: string): string | undefined {
  return service.ports?.find((mapping) => mapping.split(":").at(-1) === container);
}

describe("compose interpolation, as the tests read it", () => {
  it("follows compose's rules for defaults and escapes", () => {
    const env = { SET: "x", EMPTY: "" };
    expect(interpolate("${SET:-d} ${EMPTY:-d} ${UNSET:-d}", env)).toBe("x d d");
    expect(interpolate("${SET-d} ${EMPTY-d} ${UNSET-d}", env)).toBe("x  d");
    expect(interpolate("$SET ${UNSET} $$SET", env)).toBe("x  $SET");
  });
});

describe("docker-compose.yml", () => {
  it("runs Postgres with a health check and its data on a volume", () => {
    const postgres = compose.services.postgres!;
    expect(postgres.image).toMatch(/^postgres:\d+/);
    expect(postgres.healthcheck?.test).toEqual(expect.arrayContaining(["CMD", "pg_isready"]));
    expect(durationMs(postgres.healthcheck!.interval!)).toBeLessThanOrEqual(10_000);
    expect(postgres.healthcheck!.retries).toBeGreaterThan(0);
    const volume = postgres.volumes?.find((v) => v.endsWith(":/var/lib/postgresql/data"));
    expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(":")[0]);
  });

  it("runs Redis with the append-only file fsynced, a health check and its data on a volume", () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:\d+/);
    const command = redis.command as string[];
    expect(command[0]).toBe("redis-server");
    expect(command[command.indexOf("--appendonly") + 1]).toBe("yes");
    expect(["always", "everysec"]).toContain(command[command.indexOf("--appendfsync") + 1]);
    expect(redis.healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    expect(Object.keys(compose.volumes ?? {})).toContain(
      redis.volumes?.find((v) => v.endsWith(":/data"))?.split(":")[0],
    );
  });

  it("runs two Loom processes of one deployment, built from the Dockerfile, once the services are healthy", () => {
    expect(loomServices.map(([name]) => name)).toHaveLength(2);
    const environments = loomServices.map(([, service]) => environmentOf(service, {}));
    for (const [name, service] of loomServices) {
      const build = typeof service.build === "string" ? { context: service.build } : service.build!;
      expect(existsSync(join(root, build.context, build.dockerfile ?? "Dockerfile")), name).toBe(true);
      expect(service.depends_on, name).toEqual({
        postgres: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
      });
      expect(service.healthcheck?.test, name).toEqual(expect.arrayContaining(["CMD"]));
      expect(JSON.stringify(service.healthcheck?.test)).toContain("/healthz");
      // docker stop must leave time to persist pending turns (LOOM_SHUTDOWN_DRAIN_MS per universe)
      const env = environmentOf(service, {});
      expect(durationMs(service.stop_grace_period!)).toBeGreaterThan(Number(env.LOOM_SHUTDOWN_DRAIN_MS));
      expect(service.volumes?.some((v) => v.endsWith(":/app/data"))).toBe(true);
    }
    // one deployment: the same database, live store and secret (or the same secret volume)
    const [one, two] = environments as [Record<string, string>, Record<string, string>];
    for (const shared of ["DATABASE_URL", "REDIS_URL", "LOOM_SECRET"])
      expect(one[shared], shared).toBe(two[shared]);
    expect(new URL(one.DATABASE_URL!).hostname).toBe("postgres");
    expect(new URL(one.DATABASE_URL!).pathname).toBe(
      `/${environmentOf(compose.services.postgres!, {}).POSTGRES_DB}`,
    );
    expect(new URL(one.REDIS_URL!).hostname).toBe("redis");
    // each reachable at its own port and public address, which its published port serves
    expect(one.PORT).not.toBe(two.PORT);
    expect(one.LOOM_PUBLIC_ADDRESS).not.toBe(two.LOOM_PUBLIC_ADDRESS);
    for (const [name, service] of loomServices) {
      const env = environmentOf(service, {});
      expect(env.LOOM_PUBLIC_ADDRESS!.endsWith(`:${env.PORT}`), name).toBe(true);
      expect(published(service, env.PORT!), name).toBe(`${env.PORT}:${env.PORT}`);
      expect(JSON.stringify(service.healthcheck?.test)).toContain(`:${env.PORT}/healthz`);
    }
    // an operator's own addresses replace the defaults
    expect(
      environmentOf(loomServices[0]![1], { LOOM_1_PUBLIC_ADDRESS: "a.example:443" }).LOOM_PUBLIC_ADDRESS,
    ).toBe("a.example:443");
  });
});

/** Folders that workspaces install from (`file:` dependencies such as the patched driver), from the root. */
function localDependencies(): string[] {
  return pkg.workspaces.flatMap((workspace) => {
    const manifest = JSON.parse(readFileSync(join(root, workspace, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    return Object.values(manifest.dependencies ?? {})
      .filter((spec) => spec.startsWith("file:"))
      .map((spec) => relative(root, resolve(root, workspace, spec.slice("file:".length))).split("/")[0]!);
  });
}

describe("Dockerfile", () => {
  it("builds on a Node.js the engines field allows", () => {
    const from = dockerfile.filter((i) => i.keyword === "FROM");
    expect(from).toHaveLength(1);
    const major = /^node:(\d+)/.exec(from[0]!.args)?.[1];
    expect(semver.satisfies(`${major}.99.0`, pkg.engines.node)).toBe(true);
  });

  it("copies every workspace's package.json and the lockfile before npm ci, and only paths that exist", () => {
    const copies = dockerfile.filter((i) => i.keyword === "COPY");
    const install = dockerfile.findIndex((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
    expect(install).toBeGreaterThan(0);
    const before = dockerfile.slice(0, install).filter((i) => i.keyword === "COPY");
    const copied = before.flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const needed of [
      "package.json",
      "package-lock.json",
      ...pkg.workspaces.map((w) => `${w}/package.json`),
      ...localDependencies(),
    ])
      expect(copied, needed).toContain(needed);
    for (const copy of copies)
      for (const source of copy.args.split(/\s+/).slice(0, -1))
        expect(existsSync(join(root, source)), `COPY ${source}`).toBe(true);
  });

  it("runs only npm scripts that package.json has, and starts what npm start starts", () => {
    const runs = dockerfile.filter((i) => i.keyword === "RUN").map((i) => i.args);
    const scripts = runs.flatMap((run) => [...run.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
    expect(scripts).toContain("build:web");
    for (const script of scripts) expect(pkg.scripts[script], script).toBeDefined();
    const cmd = execForm(dockerfile.find((i) => i.keyword === "CMD")!);
    // npm start without npm in between: SIGTERM from docker stop reaches the server itself
    expect(cmd.join(" ")).toBe(pkg.scripts.start);
    const env = dockerfileEnv(dockerfile);
    expect(env).toMatchObject({ LOOM_WEB_BUILD: "off", LOOM_LOG_FORMAT: "json" });
    expect(dockerfile.find((i) => i.keyword === "EXPOSE")?.args).toBe(env.PORT);
    expect(dockerfile.find((i) => i.keyword === "USER")?.args).not.toBe("root");
  });

  it("keeps local dependencies and data out of the build context", () => {
    const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
    for (const path of ["node_modules", "data", "web/dist", ".git"]) expect(ignored, path).toContain(path);
  });
});
