env CCT_BENCH_CCT_PRECISION=fp32 bash /tmp/bundle/tools/bench/run-bench-pair.sh /tmp/bundle /tmp/validate/bench cpu 
