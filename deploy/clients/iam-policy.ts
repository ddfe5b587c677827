/**
 * One edit of an IAM policy, shared by every resource nbtrigger grants a role on (Cloud Run
 * services: roles/run.invoker; Cloud Run jobs: roles/run.jobsExecutorWithOverrides): members added
 * to and removed from the role's unconditional binding, every other binding kept as it is, and the
 * etag read sent back so a concurrent change makes the write fail rather than be lost.
 *
 * Spec: https://cloud.google.com/iam/docs/policies#etag (read-modify-write).
 * @module
 */
import type { protos } from '@google-cloud/run';

type IPolicy = protos.google.iam.v1.IPolicy;

/** The policy with `role`'s members added/removed; bindings left empty are dropped. */
export function editPolicy(policy: IPolicy, role: string, add: string[], remove: string[] = []): IPolicy {
  const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...(b.members ?? [])] }));
  let binding = bindings.find((b) => b.role === role && !b.condition);
  if (!binding && add.length > 0) {
    binding = { role, members: [] };
    bindings.push(binding);
  }
  if (binding) {
    binding.members = binding.members.filter((m) => !remove.includes(m));
    for (const m of add) if (!binding.members.includes(m)) binding.members.push(m);
  }
  const out: IPolicy = { bindings: bindings.filter((b) => b.members.length > 0) };
  if (policy.etag && policy.etag.length > 0) out.etag = policy.etag;
  if (policy.version) out.version = policy.version;
  return out;
}
