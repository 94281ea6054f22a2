env CCT_BENCH_CCT_PRECISION=fp32 bash /tmp/b/cct-bundle/tools/bench/run-bench-pair.sh /tmp/b/cct-bundle /tmp/validate/bench cpu 
