// Schema-aware check of the Kubernetes manifests. Renders every overlay with
// `kubectl kustomize`, validates each object against the Kubernetes API's own
// OpenAPI schemas (npm kubernetes-models, Kubernetes 1.27), then checks what
// the project requires of its deployments (docs/deploy.md):
//   - every container: gRPC readiness and liveness probes (the HTTP gateway:
//     HTTP probes of /livez), resource requests
//     and limits, no privilege escalation, read-only root, all capabilities
//     dropped; every pod: non-root, RuntimeDefault seccomp;
//   - every HorizontalPodAutoscaler, Service, Ingress and PodDisruptionBudget
//     points at something that exists in the same rendering;
//   - the gateway's ECOACT_ROUTES names rendered Services and routes every
//     ecoact.v1 service of the Ingress;
//   - every gRPC service of protos/ecoact/v1 has an Ingress route;
//   - no Secret is committed;
//   - the Redis password file ECOACT_REDIS_PASSWORD_FILE names is mounted
//     from a Secret in every container whose config names it.
//
//   node deploy/k8s/check.mjs [OVERLAY_DIR...]     (default: every overlay)
// Exits 1 and names each problem (object, field, rule) when one is found.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The npm packages come from `npm ci` (scripts/build.sh runs it): say so
// rather than fail with a bare "module not found".
async function required(name) {
  try {
    return await import(name);
  } catch (error) {
    if (error.code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new Error(`npm package ${name} is missing: run scripts/build.sh, or npm ci in deploy/k8s`);
  }
}
const { parseAllDocuments } = await required("yaml");

const here = dirname(fileURLToPath(import.meta.url));

// kubernetes-models exposes one module per API group and version.
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const path = group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
  await required("kubernetes-models");
  try {
    const module = await import(path);
    return module[kind];
  } catch {
    return undefined;  // no such API group or version
  }
}

function render(overlay) {
  return execFileSync("kubectl", ["kustomize", overlay], { encoding: "utf8" });
}

function nameOf(object) {
  return `${object.kind}/${object.metadata?.name ?? "?"}`;
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

function checkContainer(where, container, problems) {
  const need = (condition, rule) => {
    if (!condition) problems.push(`${where} container ${container.name}: ${rule}`);
  };
  // The HTTP gateway (a port named http) is probed over HTTP, the gRPC
  // services through the gRPC health protocol.
  if ((container.ports ?? []).some((port) => port.name === "http")) {
    need(container.readinessProbe?.httpGet?.path === "/livez", "readinessProbe must GET /livez");
    need(
      container.livenessProbe?.httpGet?.path === "/livez",
      "livenessProbe must GET /livez (/healthz follows every upstream service)",
    );
  } else {
    need(container.readinessProbe?.grpc?.port, "needs a gRPC readinessProbe");
    need(container.livenessProbe?.grpc?.port, "needs a gRPC livenessProbe");
    need(
      container.livenessProbe?.grpc?.service === "liveness",
      "livenessProbe must ask the 'liveness' health name (the overall status follows Redis)",
    );
  }
  for (const kind of ["requests", "limits"]) {
    for (const resource of ["cpu", "memory"]) {
      need(container.resources?.[kind]?.[resource], `needs resources.${kind}.${resource}`);
    }
  }
  const security = container.securityContext ?? {};
  need(security.allowPrivilegeEscalation === false, "securityContext.allowPrivilegeEscalation must be false");
  need(security.readOnlyRootFilesystem === true, "securityContext.readOnlyRootFilesystem must be true");
  need(security.capabilities?.drop?.includes("ALL"), "securityContext.capabilities.drop must include ALL");
}

// "ecoact.v1.ActionsService", ... from the .proto files: the services an app
// may call, each of which needs a route.
export function protoServices(protoDir = join(here, "../../protos/ecoact/v1")) {
  const services = [];
  for (const file of readdirSync(protoDir).filter((name) => name.endsWith(".proto"))) {
    const text = readFileSync(join(protoDir, file), "utf8");
    const pkg = /^package\s+([\w.]+);/m.exec(text)?.[1];
    for (const match of text.matchAll(/^service\s+(\w+)/gm)) services.push(`${pkg}.${match[1]}`);
  }
  return services.sort();
}

export async function checkObjects(objects, { services = [] } = {}) {
  const problems = [];
  for (const object of objects) {
    const Model = await modelFor(object.apiVersion, object.kind);
    if (!Model) {
      problems.push(`${nameOf(object)}: unknown apiVersion/kind ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${nameOf(object)}: schema: ${error.message}`);
    }
  }
  const byKind = (kind) => objects.filter((object) => object.kind === kind);
  const deployments = byKind("Deployment");
  const names = (kind) => new Set(byKind(kind).map((object) => object.metadata.name));
  for (const deployment of deployments) {
    const where = nameOf(deployment);
    const pod = deployment.spec?.template?.spec ?? {};
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot must be true`);
    if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") {
      problems.push(`${where}: pod securityContext.seccompProfile.type must be RuntimeDefault`);
    }
    if (pod.automountServiceAccountToken !== false) problems.push(`${where}: automountServiceAccountToken must be false`);
    if (!matches(deployment.spec?.selector?.matchLabels, deployment.spec?.template?.metadata?.labels)) {
      problems.push(`${where}: selector does not match the pod template's labels`);
    }
    for (const container of pod.containers ?? []) checkContainer(where, container, problems);
    for (const source of (pod.containers ?? []).flatMap((container) => container.envFrom ?? [])) {
      if (source.configMapRef && !names("ConfigMap").has(source.configMapRef.name)) {
        problems.push(`${where}: envFrom names ConfigMap ${source.configMapRef.name}, which is not rendered`);
      }
    }
    // The Redis password file a container's config names must be on a
    // volume from a Secret, or the process stops at start-up without it.
    for (const container of pod.containers ?? []) {
      for (const source of container.envFrom ?? []) {
        const config = byKind("ConfigMap").find((map) => map.metadata.name === source.configMapRef?.name);
        const file = config?.data?.ECOACT_REDIS_PASSWORD_FILE;
        if (!file) continue;
        const mount = (container.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath.replace(/\/$/, "")}/`));
        const volume = (pod.volumes ?? []).find((v) => v.name === mount?.name);
        if (!volume?.secret?.secretName) {
          problems.push(`${where} container ${container.name}: ECOACT_REDIS_PASSWORD_FILE ${file} is not on a volume mounted from a Secret`);
        }
      }
    }
  }
  const deploymentNames = new Set(deployments.map((deployment) => deployment.metadata.name));
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const target = hpa.spec?.scaleTargetRef;
    if (target?.kind !== "Deployment" || !deploymentNames.has(target.name)) {
      problems.push(`${nameOf(hpa)}: scaleTargetRef ${target?.kind}/${target?.name} is not a rendered Deployment`);
    }
    if (!(hpa.spec?.minReplicas >= 1 && hpa.spec.minReplicas <= hpa.spec.maxReplicas)) {
      problems.push(`${nameOf(hpa)}: needs 1 <= minReplicas <= maxReplicas`);
    }
  }
  const podLabels = deployments.map((deployment) => deployment.spec?.template?.metadata?.labels);
  for (const selecting of [...byKind("Service"), ...byKind("PodDisruptionBudget")]) {
    const selector = selecting.kind === "Service" ? selecting.spec?.selector : selecting.spec?.selector?.matchLabels;
    if (!podLabels.some((labels) => matches(selector, labels))) {
      problems.push(`${nameOf(selecting)}: its selector matches no rendered Deployment's pods`);
    }
  }
  const serviceNames = names("Service");
  for (const ingress of byKind("Ingress")) {
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend?.service?.name;
        if (!serviceNames.has(backend)) problems.push(`${nameOf(ingress)}: path ${path.path} goes to missing Service ${backend}`);
      }
    }
  }
  // Every service of protos/ needs an Ingress route (gRPC clients reach it
  // by /package.Service/Method).
  const ingressPaths = new Set(
    byKind("Ingress").flatMap((ingress) =>
      (ingress.spec?.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((path) => path.path))),
  );
  for (const service of services) {
    if (!ingressPaths.has(`/${service}`)) problems.push(`Ingress: no route for /${service} (protos/ defines it)`);
  }
  // The gateway's ECOACT_ROUTES: each SERVICE=HOST:PORT names a rendered
  // Service and one of its ports, and every ecoact.v1 service the Ingress
  // routes is routed there too.
  const servicePorts = new Map(byKind("Service").map((s) => [s.metadata.name, (s.spec?.ports ?? []).map((p) => p.port)]));
  for (const deployment of deployments) {
    for (const container of deployment.spec?.template?.spec?.containers ?? []) {
      const routes = (container.env ?? []).find((variable) => variable.name === "ECOACT_ROUTES")?.value;
      if (routes === undefined) continue;
      const routed = new Set();
      for (const entry of routes.split(",").map((text) => text.trim()).filter((text) => text !== "")) {
        const [service, target = ""] = entry.split("=");
        const [host, port] = target.split(":");
        routed.add(`/${service}`);
        if (!servicePorts.get(host)?.includes(Number(port))) {
          problems.push(`${nameOf(deployment)}: ECOACT_ROUTES sends ${service} to ${target}, which is no rendered Service port`);
        }
      }
      for (const path of [...ingressPaths].filter((p) => p.startsWith("/ecoact."))) {
        if (!routed.has(path)) problems.push(`${nameOf(deployment)}: ECOACT_ROUTES does not route ${path.slice(1)}`);
      }
    }
  }
  for (const secret of byKind("Secret")) problems.push(`${nameOf(secret)}: secrets are never committed (docs/deploy.md)`);
  return problems;
}

export function parseManifests(text) {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`YAML: ${document.errors[0].message}`);
      return document.toJS();
    })
    .filter((object) => object !== null);
}

async function main() {
  const overlays = process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(join(here, "overlays")).map((name) => join(here, "overlays", name));
  let failed = false;
  for (const overlay of overlays) {
    const objects = parseManifests(render(overlay));
    const problems = await checkObjects(objects, { services: protoServices() });
    const counts = {};
    for (const object of objects) counts[object.kind] = (counts[object.kind] ?? 0) + 1;
    if (problems.length === 0) {
      console.log(`ok ${overlay}: ${objects.length} objects (${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ")})`);
    } else {
      failed = true;
      console.log(`FAILED ${overlay}:`);
      for (const problem of problems) console.log(`  ${problem}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
