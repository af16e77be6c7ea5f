# biorepro: reproducible, content-addressed biometric PAD experiments.
#
#   snakemake --cores N                           demo config (config/config.yaml)
#   snakemake --cores N --configfile my.yaml      your own data / overrides
#   snakemake --cores N verify                    determinism check of trained seeds
#
# The plan (every store entry and its key) is computed once here, at parse time;
# outputs are store paths named by key, so only missing entries run.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/aggregate.smk"


rule all:
    default_target: True
    input:
        all_targets(),
