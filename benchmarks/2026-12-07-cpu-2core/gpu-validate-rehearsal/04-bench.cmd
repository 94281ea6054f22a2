env CCT_BENCH_CCT_PRECISION=fp32 bash /tmp/rb/cct-bundle/tools/bench/run-bench-pair.sh /tmp/rb/cct-bundle /tmp/validate/bench cpu 
