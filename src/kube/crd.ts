/**
 * CustomResourceDefinitions are stored as apiextensions.k8s.io/v1beta1 (kube-apiserver's storage codec
 * prefers the more compact v1beta1 form; still so in v1.34) and served as v1. This converts a stored v1beta1
 * CRD the way apiextensions-apiserver does: v1beta1 defaulting, then the internal → v1 conversion that copies
 * spec-level validation, subresources, additionalPrinterColumns and selectableFields into every version and
 * regroups the webhook conversion settings.
 */
import type { JsonObject, JsonValue } from './render-proto.js';
import { orderedKeys, orderedObject } from '../util/json.js';

export const CRD_V1BETA1 = 'apiextensions.k8s.io/v1beta1';
export const CRD_V1 = 'apiextensions.k8s.io/v1';
export const CRD_V1_TYPE =
  'k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1.CustomResourceDefinition';

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function arr(v: JsonValue | undefined): JsonValue[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

function clone<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v && typeof v === 'object') {
    const keys = orderedKeys(v);
    return orderedObject(
      keys,
      keys.map((k) => clone(v[k]!)),
    ) as T;
  }
  return v;
}

function column(c: JsonValue): JsonValue {
  const o = obj(c);
  if (!o) return c;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) out[k === 'JSONPath' ? 'jsonPath' : k] = v;
  return out;
}

function defaultServicePort(cc: JsonObject | undefined): void {
  const svc = obj(cc?.service);
  if (svc && svc.port === undefined) svc.port = 443;
}

/** A stored v1beta1 CRD (JSON) → the v1 JSON (before typed rendering). */
export function crdV1beta1ToV1(stored: JsonObject): JsonObject {
  const inObj = clone(stored);
  const spec = obj(inObj.spec) ?? {};
  const status = obj(inObj.status) ?? {};
  // v1beta1 defaulting (SetDefaults_CustomResourceDefinition*).
  if (!spec.scope) spec.scope = 'Namespaced';
  const names = obj(spec.names) ?? {};
  if (!names.singular && typeof names.kind === 'string') names.singular = names.kind.toLowerCase();
  if (!names.listKind && typeof names.kind === 'string' && names.kind) names.listKind = `${names.kind}List`;
  spec.names = names;
  let versions = arr(spec.versions) ?? [];
  if (versions.length === 0 && typeof spec.version === 'string' && spec.version) {
    versions = [{ name: spec.version, served: true, storage: true }];
  }
  if (!obj(spec.conversion)) spec.conversion = { strategy: 'None' };
  if (spec.preserveUnknownFields === undefined || spec.preserveUnknownFields === null) {
    spec.preserveUnknownFields = true;
  }
  const storedVersions = arr(status.storedVersions);
  if (!storedVersions || storedVersions.length === 0) {
    const st = versions.map(obj).find((v) => v?.storage === true);
    if (st) status.storedVersions = [st.name ?? ''];
  }
  // internal → v1.
  const outVersions = versions.map((v) => {
    const o = clone(obj(v) ?? {});
    if (Array.isArray(o.additionalPrinterColumns))
      o.additionalPrinterColumns = o.additionalPrinterColumns.map(column);
    if (spec.subresources !== undefined && spec.subresources !== null)
      o.subresources = clone(spec.subresources);
    if (spec.validation !== undefined && spec.validation !== null) o.schema = clone(spec.validation);
    if (Array.isArray(spec.additionalPrinterColumns))
      o.additionalPrinterColumns = spec.additionalPrinterColumns.map(column);
    if (Array.isArray(spec.selectableFields)) o.selectableFields = clone(spec.selectableFields);
    return o;
  });
  const conv = obj(spec.conversion)!;
  const outConv: JsonObject = { strategy: conv.strategy ?? '' };
  const cc = obj(conv.webhookClientConfig);
  if (cc || conv.conversionReviewVersions !== undefined) {
    const webhook: JsonObject = {};
    if (cc) {
      defaultServicePort(cc);
      webhook.clientConfig = cc;
    }
    if (conv.conversionReviewVersions !== undefined)
      webhook.conversionReviewVersions = conv.conversionReviewVersions;
    outConv.webhook = webhook;
  }
  const outSpec: JsonObject = {
    group: spec.group ?? '',
    names,
    scope: spec.scope,
    versions: outVersions,
    conversion: outConv,
    preserveUnknownFields: spec.preserveUnknownFields === true,
  };
  return { ...inObj, apiVersion: CRD_V1, kind: 'CustomResourceDefinition', spec: outSpec, status };
}
