import os, sys, resource
if os.environ.get('IPC_BAIT_NOFILE'):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(os.environ['IPC_BAIT_NOFILE']), hard))
for n in sys.argv[1].split(','):
    fd = os.open('/dev/null', os.O_RDONLY)
    os.dup2(fd, int(n), inheritable=True)
    os.close(fd) if fd != int(n) else None
os.execv(sys.argv[2], sys.argv[2:])
