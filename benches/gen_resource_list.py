#!/usr/bin/env python3
"""Generates realistic, deterministic inputs for the authelia-secrets benchmarks.

The mix repeats in blocks of 10 items: 4 Deployments, 3 Services, 2 ConfigMaps whose data are
multi-line scripts (block scalars) and 1 CustomResourceDefinition with a nested openAPI schema
and fields no Kubernetes schema knows. Every AUTHELIA_EVERY-th Deployment (default 50th, i.e.
2 % of them) has a container named `authelia`, so the function patches a share of the workloads
proportional to the input size; one Service is named `authelia`. Items carry the annotations kpt
adds (path and index), as `kpt fn eval` / `kpt fn render` hand them to a function.

Usage:
  gen_resource_list.py --items N [--out FILE]            # a ResourceList (stdin for the function)
  gen_resource_list.py --items N --package DIR           # a kpt package: files of 10 items each
  gen_resource_list.py --quickstart examples/quickstart  # the quickstart as a ResourceList
  gen_resource_list.py --keygen rsa2048|rsa4096          # one key, no items (key generation)

Plain string templating (no YAML library on the write path) keeps it fast at 20k items; the
output is checked with PyYAML when --check is given.
"""

import argparse
import os
import sys

AUTHELIA_EVERY = 50

FUNCTION_CONFIG = """\
functionConfig:
  apiVersion: authelia-secrets.dev/v1alpha1
  kind: AutheliaSecrets
  metadata: {name: authelia}
  spec: {secrets: {JWT_SECRET: {}, SESSION_SECRET: {}, STORAGE_ENCRYPTION_KEY: {}}}
"""

KEYGEN_CONFIGS = {
    # The catalog default for OIDC_ISSUER_PRIVATE_KEY is RSA 2048 (PKCS#8).
    "rsa2048": """\
functionConfig:
  apiVersion: authelia-secrets.dev/v1alpha1
  kind: AutheliaSecrets
  metadata: {name: authelia}
  spec: {autheliaVersion: "4.37", secrets: {OIDC_ISSUER_PRIVATE_KEY: {}}}
""",
    "rsa4096": """\
functionConfig:
  apiVersion: authelia-secrets.dev/v1alpha1
  kind: AutheliaSecrets
  metadata: {name: authelia}
  spec: {secrets: {JWKS_RSA_4096: {mountOnly: true, type: rsa, bits: 4096}}}
""",
}

HEADER = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"


def kpt_annotations(path, index):
    return (
        f"    config.kubernetes.io/index: '{index}'\n"
        f"    config.kubernetes.io/path: '{path}'\n"
        f"    internal.config.kubernetes.io/index: '{index}'\n"
        f"    internal.config.kubernetes.io/path: '{path}'\n"
    )


def deployment(i, ns, authelia, ann):
    name = f"authelia-{i}" if authelia else f"app-{i}"
    main = "authelia" if authelia else "app"
    image = "ghcr.io/authelia/authelia:4.39" if authelia else f"registry.example.com/team/app-{i % 97}:1.{i % 13}.{i % 7}"
    ns_line = "" if authelia else f"  namespace: {ns}\n"
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
{ns_line}  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: platform
    app.kubernetes.io/version: "1.{i % 13}"
  annotations:
{ann}    deployment.kubernetes.io/revision: "{i % 5 + 1}"
spec:
  replicas: {i % 3 + 1}
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 25%, maxUnavailable: 0}}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9102"
    spec:
      serviceAccountName: {name}
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001}}
      containers:
      - name: {main}
        image: {image}
        imagePullPolicy: IfNotPresent
        args: ["--config", "/etc/app/config.yaml", "--log-level=info"]
        env:
        - name: TZ
          value: Etc/UTC
        - name: GOMAXPROCS
          value: "2"
        - name: FEATURE_FLAG
          value: "no"
        - name: POD_NAME
          valueFrom:
            fieldRef: {{fieldPath: metadata.name}}
        ports:
        - {{name: http, containerPort: {8000 + i % 1000}, protocol: TCP}}
        - {{name: metrics, containerPort: 9102, protocol: TCP}}
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{memory: 256Mi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: http}}
          periodSeconds: 10
        livenessProbe:
          httpGet: {{path: /healthz, port: http}}
          initialDelaySeconds: 30
        volumeMounts:
        - {{name: config, mountPath: /etc/app, readOnly: true}}
        - {{name: scripts, mountPath: /scripts}}
      - name: log-shipper
        image: docker.io/fluent/fluent-bit:3.1.{i % 9}
        resources:
          requests: {{cpu: 10m, memory: 32Mi}}
      volumes:
      - name: config
        configMap: {{name: app-{i}-config}}
      - name: scripts
        configMap: {{name: app-{i}-scripts, defaultMode: 0755}}
"""


def service(i, ns, ann, name=None):
    name = name or f"app-{i}"
    ns_line = f"  namespace: {ns}\n" if ns else ""
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: {name}
{ns_line}  labels:
    app.kubernetes.io/name: {name}
  annotations:
{ann}spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: {name}
  ports:
  - name: http
    port: 80
    targetPort: http
    protocol: TCP
  - name: metrics
    port: 9102
    targetPort: 9102
"""


def configmap(i, ns, ann):
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i}-scripts
  namespace: {ns}
  annotations:
{ann}data:
  enabled: "on"
  mode: "0755"
  since: "2024-01-01"
  entrypoint.sh: |
    #!/bin/sh
    # Wait for the database, migrate, then start app {i}.
    set -eu
    until nc -z db.{ns}.svc 5432; do
      echo "waiting for db ($(date -u +%FT%TZ))"
      sleep 2
    done
    /app/migrate --dsn "postgres://app:${{DB_PASSWORD}}@db.{ns}.svc:5432/app?sslmode=require"
    exec /app/server --config /etc/app/config.yaml "$@"
  config.yaml: |
    server:
      address: tcp://0.0.0.0:{8000 + i % 1000}
      read_timeout: 10s
    log:
      level: info
      format: json
    features:
      - name: beta-{i % 17}
        enabled: no
  healthcheck.py: |
    import sys, urllib.request
    try:
        urllib.request.urlopen("http://127.0.0.1:{8000 + i % 1000}/healthz", timeout=2)
    except Exception as e:
        print("unhealthy:", e)
        sys.exit(1)
"""


def crd(i, ann):
    plural = f"widgets{i}"
    return f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.example.com
  annotations:
{ann}    controller-gen.kubebuilder.io/version: v0.16.{i % 5}
spec:
  group: example.com
  names: {{kind: Widget{i}, listKind: Widget{i}List, plural: {plural}, singular: widget{i}, shortNames: [w{i}]}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {{status: {{}}}}
    additionalPrinterColumns:
    - {{name: Ready, type: string, jsonPath: ".status.conditions[?(@.type=='Ready')].status"}}
    - {{name: Age, type: date, jsonPath: .metadata.creationTimestamp}}
    schema:
      openAPIV3Schema:
        description: Widget{i} is the Schema for the {plural} API.
        type: object
        x-vendor-generated-by: schema-gen
        properties:
          apiVersion: {{type: string}}
          kind: {{type: string}}
          metadata: {{type: object}}
          spec:
            type: object
            required: [size, template]
            properties:
              size:
                type: integer
                format: int64
                minimum: 0
                maximum: 9007199254740991
              paused: {{type: boolean, default: false}}
              selector:
                type: object
                properties:
                  matchLabels:
                    type: object
                    additionalProperties: {{type: string}}
                  matchExpressions:
                    type: array
                    items:
                      type: object
                      required: [key, operator]
                      properties:
                        key: {{type: string}}
                        operator: {{type: string, enum: [In, NotIn, Exists, DoesNotExist]}}
                        values: {{type: array, items: {{type: string}}}}
              template:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                x-kubernetes-embedded-resource: true
              tiers:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  properties:
                    name: {{type: string}}
                    weight: {{type: number, format: double, default: 0.5}}
                    limits:
                      type: object
                      properties:
                        cpu:
                          anyOf: [{{type: integer}}, {{type: string}}]
                          pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'
                          x-kubernetes-int-or-string: true
          status:
            type: object
            properties:
              observedGeneration: {{type: integer, format: int64}}
              conditions:
                type: array
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: {{type: string}}
                    status: {{type: string, enum: ["True", "False", Unknown]}}
                    lastTransitionTime: {{type: string, format: date-time}}
                    message: {{type: string, maxLength: 32768}}
status:
  acceptedNames: {{kind: "", plural: ""}}
  conditions: []
  storedVersions: []
"""


def items(n, with_annotations=True):
    """Yields (file name, YAML text of one item at indentation 0)."""
    deployments = 0
    for i in range(n):
        block, slot = divmod(i, 10)
        ns = f"team-{block % 20}"
        path = f"resources-{block:05d}.yaml"
        ann = kpt_annotations(path, slot) if with_annotations else ""
        if not ann:
            ann = "    owner: platform\n"
        if i == 0:
            yield path, service(0, None, ann, name="authelia")
        elif slot < 4:
            deployments += 1
            yield path, deployment(i, ns, deployments % AUTHELIA_EVERY == 1, ann)
        elif slot < 7:
            yield path, service(i, ns, ann)
        elif slot < 9:
            yield path, configmap(i, ns, ann)
        else:
            yield path, crd(i, ann)


def as_list_item(text):
    """Indents one item as an element of `items:` (kyaml style: `- ` at the key's column)."""
    lines = text.splitlines()
    out = ["- " + lines[0]]
    out.extend(("  " + line) if line else "" for line in lines[1:])
    return "\n".join(out) + "\n"


def resource_list(n, function_config=FUNCTION_CONFIG):
    parts = [HEADER, "items:\n" if n else "items: []\n"]
    parts.extend(as_list_item(text) for _, text in items(n))
    parts.append(function_config)
    return "".join(parts)


def quickstart(directory):
    """examples/quickstart as kpt would hand it over: the Deployment, the config as functionConfig."""
    with open(os.path.join(directory, "deployment.yaml")) as f:
        deployment_text = "".join(line for line in f if not line.startswith("#"))
    with open(os.path.join(directory, "authelia-secrets.yaml")) as f:
        config_text = "".join(line for line in f if not line.startswith("#"))
    fc = "functionConfig:\n" + "".join(
        ("  " + line) if line.strip() else line for line in config_text.splitlines(True)
    )
    return HEADER + "items:\n" + as_list_item(deployment_text) + fc


def package(n, directory):
    os.makedirs(directory, exist_ok=True)
    files = {}
    for path, text in items(n, with_annotations=False):
        files.setdefault(path, []).append(text)
    for path, docs in files.items():
        with open(os.path.join(directory, path), "w") as f:
            f.write("---\n".join(docs))
    with open(os.path.join(directory, "Kptfile"), "w") as f:
        f.write(
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: bench\n  annotations:\n"
            '    config.kubernetes.io/local-config: "true"\n'
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--out", help="write here instead of stdout")
    p.add_argument("--package", help="write a kpt package directory instead of a ResourceList")
    p.add_argument("--quickstart", help="path to examples/quickstart")
    p.add_argument("--keygen", choices=sorted(KEYGEN_CONFIGS))
    p.add_argument("--fn-config", help="also write the functionConfig alone (for kpt --fn-config)")
    p.add_argument("--check", action="store_true", help="parse the output with PyYAML")
    args = p.parse_args()

    if args.fn_config:
        with open(args.fn_config, "w") as f:
            f.write("".join(line[2:] + "\n" for line in FUNCTION_CONFIG.splitlines()[1:]))
    if args.package:
        package(args.items, args.package)
        return
    if args.quickstart:
        text = quickstart(args.quickstart)
    elif args.keygen:
        text = HEADER + "items: []\n" + KEYGEN_CONFIGS[args.keygen]
    else:
        text = resource_list(args.items)
    if args.check:
        import yaml

        doc = yaml.safe_load(text)
        assert doc["kind"] == "ResourceList", "not a ResourceList"
        assert len(doc["items"] or []) == (0 if args.keygen else 1 if args.quickstart else args.items)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
