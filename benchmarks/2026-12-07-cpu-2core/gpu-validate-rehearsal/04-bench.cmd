env CCT_BENCH_CCT_PRECISION=fp32 bash /tmp/cct-bundle/tools/bench/run-bench-pair.sh /tmp/cct-bundle /tmp/validate/bench cpu 
