# biorepro: reproducible, content-addressed biometric PAD experiments.
#
#   biorepro synth && snakemake --cores N         demo config (config/config.yaml)
#   snakemake --cores N --configfile my.yaml      your own data / overrides
#   snakemake --cores N verify                    determinism check of trained seeds
#
# The plan (every store entry, with its key where its inputs are in the store) is computed
# once here, at parse time, and writes nothing; each stage's rule runs the entries missing
# from the store (its outputs are receipts named by recipe) through biorepro/jobs/. See
# docs/architecture.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/stages.smk"
include: "rules/verify.smk"
include: "rules/views.smk"


rule all:
    default_target: True
    input:
        all_targets(),
