// Tests of deploy/k8s/check.mjs: the committed overlays pass it, and it
// rejects manifests that break a schema or a rule of the project's.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkObjects, parseManifests, protoServices } from "../../deploy/k8s/check.mjs";

const k8s = join(dirname(fileURLToPath(import.meta.url)), "../../deploy/k8s");

function render(overlay) {
  return parseManifests(execFileSync("kubectl", ["kustomize", join(k8s, "overlays", overlay)], { encoding: "utf8" }));
}

for (const overlay of readdirSync(join(k8s, "overlays"))) {
  test(`overlay ${overlay} renders and passes every check`, async () => {
    const objects = render(overlay);
    assert.deepEqual(await checkObjects(objects, { services: protoServices() }), []);
    const deployments = objects.filter((object) => object.kind === "Deployment");
    const autoscalers = objects.filter((object) => object.kind === "HorizontalPodAutoscaler");
    assert.ok(deployments.length >= 7, `${deployments.length} deployments`);
    assert.equal(autoscalers.length, deployments.length, "one autoscaler per stateless service");
    for (const deployment of deployments) {
      assert.match(deployment.spec.template.spec.containers[0].image, /^registry\.example\/ecoact:/);
      assert.equal(deployment.metadata.namespace, overlay === "pilot" ? "ecoact-pilot" : "ecoact");
    }
  });
}

test("the overlays differ in size: the large one scales further", () => {
  const max = (overlay) =>
    Math.max(...render(overlay).filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => o.spec.maxReplicas));
  assert.ok(max("large") > max("pilot"), `large ${max("large")} vs pilot ${max("pilot")}`);
});

function validDeployment() {
  return render("pilot").find((object) => object.kind === "Deployment" && object.metadata.name === "actions");
}

test("a field of the wrong type fails the Kubernetes schema", async () => {
  const deployment = validDeployment();
  deployment.spec.replicas = "two";
  const problems = await checkObjects([deployment]);
  assert.ok(problems.some((p) => /schema: .*replicas must be integer/.test(p)), problems.join("\n"));
});

test("a container without probes, limits or hardening is named with each rule", async () => {
  const deployment = validDeployment();
  const container = deployment.spec.template.spec.containers[0];
  delete container.livenessProbe;
  delete container.resources.limits;
  container.securityContext.readOnlyRootFilesystem = false;
  deployment.spec.template.spec.securityContext.runAsNonRoot = false;
  const problems = (await checkObjects([deployment])).join("\n");
  assert.match(problems, /needs a gRPC livenessProbe/);
  assert.match(problems, /needs resources\.limits\.cpu/);
  assert.match(problems, /readOnlyRootFilesystem must be true/);
  assert.match(problems, /runAsNonRoot must be true/);
});

test("dangling references and committed secrets are refused", async () => {
  const objects = render("pilot");
  const hpa = objects.find((object) => object.kind === "HorizontalPodAutoscaler");
  hpa.spec.scaleTargetRef.name = "no-such-deployment";
  objects.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "leak" }, stringData: { k: "v" } });
  const problems = (await checkObjects(objects)).join("\n");
  assert.match(problems, /scaleTargetRef Deployment\/no-such-deployment is not a rendered Deployment/);
  assert.match(problems, /Secret\/leak: secrets are never committed/);
});

test("a container whose config names a Redis password file must mount it from a Secret", async () => {
  const objects = render("pilot");
  const deployment = objects.find((object) => object.kind === "Deployment" && object.metadata.name === "actions");
  const config = objects.filter((object) => object.kind === "ConfigMap");
  assert.deepEqual(await checkObjects([deployment, ...config]), []);
  delete deployment.spec.template.spec.containers[0].volumeMounts;
  const problems = (await checkObjects([deployment, ...config])).join("\n");
  assert.match(problems, /container actions: ECOACT_REDIS_PASSWORD_FILE .* not on a volume mounted from a Secret/);
});

test("an unknown kind is refused rather than skipped", async () => {
  const problems = await checkObjects([{ apiVersion: "apps/v1", kind: "Deplyoment", metadata: { name: "typo" } }]);
  assert.deepEqual(problems, ["Deplyoment/typo: unknown apiVersion/kind apps/v1 Deplyoment"]);
});

test("the gateway's routes must name rendered Services and cover every service", async () => {
  const objects = render("pilot");
  const gateway = objects.find((object) => object.kind === "Deployment" && object.metadata.name === "gateway");
  const routes = gateway.spec.template.spec.containers[0].env.find((variable) => variable.name === "ECOACT_ROUTES");
  assert.match(routes.value, /ecoact\.v1\.ActionsService=actions:7700/);
  routes.value = routes.value
    .replace("ecoact.v1.ActionsService=actions:7700", "ecoact.v1.ActionsService=action:7700")
    .replace(/,?ecoact\.v1\.SurveysService=surveys:7700/, "");
  const problems = (await checkObjects(objects)).join("\n");
  assert.match(problems, /sends ecoact\.v1\.ActionsService to action:7700, which is no rendered Service port/);
  assert.match(problems, /does not route ecoact\.v1\.SurveysService/);
});

test("the HTTP gateway is probed at /livez, not /healthz", async () => {
  const deployment = render("pilot").find((object) => object.kind === "Deployment" && object.metadata.name === "gateway");
  deployment.spec.template.spec.containers[0].readinessProbe.httpGet.path = "/healthz";
  const problems = (await checkObjects([deployment])).join("\n");
  assert.match(problems, /readinessProbe must GET \/livez/);
});

test("every service of protos/ needs an Ingress route", async () => {
  const services = protoServices();
  assert.ok(services.includes("ecoact.v1.ActionsService"), services.join(","));
  const objects = render("pilot");
  const ingress = objects.find((object) => object.kind === "Ingress");
  const paths = ingress.spec.rules[0].http.paths;
  ingress.spec.rules[0].http.paths = paths.filter((path) => path.path !== "/ecoact.v1.ReportsService");
  const problems = await checkObjects(objects, { services });
  assert.deepEqual(problems, ["Ingress: no route for /ecoact.v1.ReportsService (protos/ defines it)"]);
});
