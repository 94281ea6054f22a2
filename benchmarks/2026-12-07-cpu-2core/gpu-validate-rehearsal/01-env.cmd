bash -c env_info 
