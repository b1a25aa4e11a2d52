// check_manifests.mjs: offline checks of Kubernetes manifests, no cluster.
//
//   node check_manifests.mjs [--no-policy] FILE.yaml...
//
// Exit 0 when every document passes, 1 with one line per problem.
//
// How it works. Each file is read as YAML 1.1, the way Kubernetes reads it
// (0400 is octal, duplicate keys are errors). Each document is then
// checked against the Kubernetes API schema twice, with kubernetes-models
// (generated from the Kubernetes OpenAPI specification):
//   schema:  its JSON Schema validators (types, enums, formats, required
//            fields). They let unknown fields through, as the API server
//            does by default.
//   fields:  the document as a TypeScript object literal typed with the
//            same package's interfaces, compiled with tsc: an unknown or
//            misspelt field is an excess property and a wrong type is a
//            type error (what `kubectl apply --validate=strict` refuses).
// Then, unless --no-policy, the project's own rules for pod templates:
//   policy:  the Pod Security Standards' "restricted" profile (and so
//            "baseline"): no host namespaces, ports or hostPath volumes,
//            only the allowed volume types, runAsNonRoot, no privilege
//            escalation, capabilities drop ALL, seccomp RuntimeDefault or
//            Localhost; plus ours: a read-only root filesystem, no subPath
//            mounts (a subPath mount never sees an updated Secret or
//            ConfigMap), a DaemonSet only ever updated OnDelete.
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const policy = !args.includes("--no-policy");
const files = args.filter((a) => a !== "--no-policy");
if (files.length === 0) {
    console.error("usage: node check_manifests.mjs [--no-policy] FILE.yaml...");
    process.exit(2);
}

const problems = [];
const docs = []; // {where, group, kind, body}

// kubernetes-models lays its classes out by API group and version:
// "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1.
function modelPath(apiVersion) {
    return "kubernetes-models/" + apiVersion;
}

for (const file of files) {
    let parsed;
    try {
        parsed = parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1", uniqueKeys: true });
    } catch (e) {
        problems.push(`${file}: cannot read: ${e.message}`);
        continue;
    }
    parsed.forEach((d, i) => {
        const at = `${file} document ${i + 1}`;
        for (const e of d.errors) problems.push(`${at}: yaml: ${e.message}`);
        if (d.errors.length) return;
        const body = d.toJS();
        if (body === null || body === undefined) return;
        const { apiVersion, kind } = body;
        const where = `${at} (${kind} ${body.metadata?.name ?? "?"})`;
        if (typeof apiVersion !== "string" || typeof kind !== "string") {
            problems.push(`${at}: schema: no apiVersion and kind`);
            return;
        }
        let mod;
        try {
            mod = require(modelPath(apiVersion));
        } catch {
            problems.push(`${where}: schema: unknown apiVersion ${apiVersion}`);
            return;
        }
        const Model = mod[kind];
        if (typeof Model !== "function" || Model.apiVersion !== apiVersion) {
            problems.push(`${where}: schema: no kind ${kind} in ${apiVersion}`);
            return;
        }
        try {
            new Model(body).validate();
        } catch (e) {
            for (const line of String(e.message).split("\n")) problems.push(`${where}: schema: ${line}`);
        }
        docs.push({ where, apiVersion, kind, body });
        if (policy) checkPolicy(where, kind, body);
    });
}

checkFields(docs);

for (const p of problems) console.log(p);
process.exit(problems.length ? 1 : 0);

// fields: one .ts file, a typed constant per document; tsc's excess
// property checks reach every nested object literal. The file lives
// beside node_modules so the types resolve; it is removed afterwards.
function checkFields(list) {
    if (list.length === 0) return;
    const dir = mkdtempSync(join(here, ".check-"));
    const src = join(dir, "manifests.ts");
    const lines = [];
    const owner = []; // line number -> document
    list.forEach((d, i) => {
        lines.push(`import type { I${d.kind} as T${i} } from "${modelPath(d.apiVersion)}";`);
        owner.push(null);
    });
    list.forEach((d, i) => {
        const json = JSON.stringify(d.body, null, 2).split("\n");
        json[0] = `export const doc${i}: T${i} = ` + json[0];
        json[json.length - 1] += ";";
        for (const l of json) {
            lines.push(l);
            owner.push(d);
        }
    });
    writeFileSync(src, lines.join("\n") + "\n");
    try {
        const program = ts.createProgram([src], {
            noEmit: true,
            strict: true,
            skipLibCheck: true,
            types: [],
            module: ts.ModuleKind.NodeNext,
            moduleResolution: ts.ModuleResolutionKind.NodeNext,
            target: ts.ScriptTarget.ES2020,
        });
        for (const diag of ts.getPreEmitDiagnostics(program)) {
            const msg = ts.flattenDiagnosticMessageText(diag.messageText, " ");
            if (!diag.file || diag.start === undefined) {
                problems.push(`fields: ${msg}`);
                continue;
            }
            const { line } = diag.file.getLineAndCharacterOfPosition(diag.start);
            const d = owner[line];
            const text = lines[line].trim();
            problems.push(`${d ? d.where : src}: fields: ${text} -- ${msg}`);
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

// policy: the pod template of a workload, checked as the "restricted"
// Pod Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
// and our own rules.
function checkPolicy(where, kind, body) {
    const workloads = ["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"];
    let pod;
    if (kind === "Pod") pod = body.spec;
    else if (workloads.includes(kind)) pod = body.spec?.template?.spec;
    else return;
    const bad = (m) => problems.push(`${where}: policy: ${m}`);
    if (!pod) return bad("no pod template");
    if (kind === "DaemonSet" && body.spec.updateStrategy?.type !== "OnDelete")
        bad("a DaemonSet must use updateStrategy OnDelete (a rolling update would restart agents mid-migration)");

    for (const h of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[h]) bad(`${h} is not allowed`);
    const allowedVolumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
    const volumes = new Map();
    for (const v of pod.volumes ?? []) {
        const type = Object.keys(v).find((k) => k !== "name");
        volumes.set(v.name, type);
        if (!allowedVolumes.includes(type)) bad(`volume ${v.name}: type ${type} is not allowed`);
    }
    const psc = pod.securityContext ?? {};
    if (psc.runAsUser === 0) bad("pod runAsUser 0");
    if (psc.seccompProfile && !["RuntimeDefault", "Localhost"].includes(psc.seccompProfile.type))
        bad(`pod seccompProfile ${psc.seccompProfile.type}`);
    const safeSysctls = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes"];
    for (const s of psc.sysctls ?? []) if (!safeSysctls.includes(s.name)) bad(`sysctl ${s.name} is not allowed`);

    const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
    for (const c of containers) {
        const cbad = (m) => bad(`container ${c.name}: ${m}`);
        const sc = c.securityContext ?? {};
        if (sc.privileged) cbad("privileged");
        if (sc.allowPrivilegeEscalation !== false) cbad("allowPrivilegeEscalation must be false");
        if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) cbad("runAsNonRoot must be true (pod or container)");
        if (sc.runAsUser === 0) cbad("runAsUser 0");
        if ((sc.runAsUser ?? psc.runAsUser) === undefined) cbad("runAsUser must be set (a numeric user the image has)");
        const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
        if (!["RuntimeDefault", "Localhost"].includes(seccomp)) cbad("seccompProfile must be RuntimeDefault or Localhost");
        const caps = sc.capabilities ?? {};
        if (!(caps.drop ?? []).includes("ALL")) cbad("capabilities must drop ALL");
        for (const a of caps.add ?? []) if (a !== "NET_BIND_SERVICE") cbad(`capability ${a} may not be added`);
        if (sc.procMount && sc.procMount !== "Default") cbad(`procMount ${sc.procMount}`);
        if (sc.readOnlyRootFilesystem !== true) cbad("readOnlyRootFilesystem must be true");
        for (const p of c.ports ?? []) if (p.hostPort) cbad(`hostPort ${p.hostPort}`);
        for (const m of c.volumeMounts ?? []) {
            if (m.subPath !== undefined || m.subPathExpr !== undefined)
                cbad(`volume ${m.name} mounted with subPath: it would never see an update of its ${volumes.get(m.name) ?? "volume"}`);
        }
        if (kind !== "Job" && (c.name && (pod.containers ?? []).includes(c))) {
            if (!c.livenessProbe) cbad("no livenessProbe");
            if (!c.readinessProbe) cbad("no readinessProbe");
        }
    }
}
