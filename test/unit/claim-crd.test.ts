// The claim CRD the local stack installs (deploy/crds) is generated from the Crossplane XRD
// (deploy/crossplane/xrd.yaml): regenerating must give exactly the committed file, so the API that
// production serves (through Crossplane) and the one the tests and the simulator use cannot drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { CLAIM_CRD_PATH, ROOT, XRD_PATH, checkXrd, generateClaimCrd, renderClaimCrd } from '../../scripts/generate-claim-crd.js';

const xrd = () => parse(readFileSync(XRD_PATH, 'utf8'));
const claimCrd = () => parse(readFileSync(CLAIM_CRD_PATH, 'utf8'));
const version = (crd: any, name = 'v1alpha1') => crd.spec.versions.find((v: any) => v.name === name);

test('the committed claim CRD is exactly what the generator makes from the XRD', () => {
  const committed = readFileSync(CLAIM_CRD_PATH, 'utf8');
  const generated = generateClaimCrd();
  if (committed !== generated) {
    const a = committed.split('\n');
    const b = generated.split('\n');
    const line = a.findIndex((text, i) => text !== b[i]);
    assert.fail(
      `${relative(ROOT, CLAIM_CRD_PATH)} differs from what ${relative(ROOT, XRD_PATH)} generates ` +
        `(first at line ${line + 1}: committed ${JSON.stringify(a[line])}, generated ${JSON.stringify(b[line])}). ` +
        'Change the XRD, not the CRD, and run `npm run crd:generate`.',
    );
  }
});

test('the generation is deterministic', () => {
  const text = readFileSync(XRD_PATH, 'utf8');
  assert.equal(renderClaimCrd(text), renderClaimCrd(text));
});

test('spec.parameters and the custom status fields are the XRD schema, unchanged', () => {
  const xrdSchema = version(xrd()).schema.openAPIV3Schema;
  const crdSchema = version(claimCrd()).schema.openAPIV3Schema;
  assert.deepEqual(crdSchema.properties.spec.properties.parameters, xrdSchema.properties.spec.properties.parameters);
  assert.deepEqual(crdSchema.properties.status.properties.clusterName, xrdSchema.properties.status.properties.clusterName);
});

test('the claim CRD keeps the names, columns and claim fields claimflow and the simulator rely on', () => {
  const crd = claimCrd();
  assert.equal(crd.metadata.name, 'postgresqlinstances.db.claimflow.io');
  assert.equal(crd.spec.scope, 'Namespaced');
  assert.deepEqual(crd.spec.names, {
    kind: 'PostgreSQLInstance',
    listKind: 'PostgreSQLInstanceList',
    plural: 'postgresqlinstances',
    singular: 'postgresqlinstance',
    shortNames: ['pgi'],
    categories: ['claimflow'],
  });
  const v = version(crd);
  assert.equal(v.served, true);
  assert.equal(v.storage, true);
  assert.deepEqual(v.subresources, { status: {} });
  assert.deepEqual(
    v.additionalPrinterColumns.map((c: any) => [c.name, c.jsonPath]),
    [
      ['SIZE', '.spec.parameters.size'],
      ['VERSION', '.spec.parameters.postgres.version'],
      ['READY', ".status.conditions[?(@.type=='Ready')].status"],
      ['SYNCED', ".status.conditions[?(@.type=='Synced')].status"],
      ['AGE', '.metadata.creationTimestamp'],
    ],
  );
  const spec = v.schema.openAPIV3Schema.properties.spec;
  assert.deepEqual(spec.required, ['parameters', 'writeConnectionSecretToRef']);
  assert.deepEqual(spec.properties.writeConnectionSecretToRef.required, ['name']);
  assert.match(spec.properties.writeConnectionSecretToRef.properties.name.description, /host, port, database, username and password/);
  assert.deepEqual(spec.properties.compositionRef.required, ['name']);
  const conditions = v.schema.openAPIV3Schema.properties.status.properties.conditions;
  assert.equal(conditions['x-kubernetes-list-type'], 'map');
  assert.deepEqual(conditions.items.properties.status.enum, ['True', 'False', 'Unknown']);
});

test('an XRD without claim names or spec.parameters is refused with a readable message', () => {
  const broken = xrd();
  delete broken.spec.claimNames;
  assert.throws(() => checkXrd(broken), /claimNames/);
  const noParameters = xrd();
  delete noParameters.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.parameters;
  assert.throws(() => checkXrd(noParameters), /spec\.parameters is missing/);
});
