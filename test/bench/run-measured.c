/*
 * run-measured: runs a command and reports what it cost, for the benchmark
 * scripts (scripts/benchlib.py).
 *
 * Linux folds the memory high-water mark of a process into its peak RSS
 * when it calls exec, so a tool started straight from the Python harness
 * would be charged the harness's 20 MB.  This small program forks the
 * command from its own small image and reads the command tree's rusage with
 * wait4: CPU (user + system, with the children the command waited for) in
 * microseconds, which GNU time rounds to 10 ms, and the peak RSS of the
 * largest process of the tree.
 *
 * Usage: run-measured OUTFILE COMMAND [ARG]...
 * OUTFILE gets "EXIT USER_US SYSTEM_US MAXRSS_KIB"; EXIT is the exit code,
 * or 128 + the signal that ended the command.  The exit code of
 * run-measured itself is 0 when OUTFILE was written, else 1.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage usage;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: run-measured OUTFILE COMMAND [ARG]...\n");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &usage) != pid)
		return 1;
	out = fopen(argv[1], "w");
	if (!out)
		return 1;
	fprintf(out, "%d %ld %ld %ld\n",
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		(long)usage.ru_utime.tv_sec * 1000000 + (long)usage.ru_utime.tv_usec,
		(long)usage.ru_stime.tv_sec * 1000000 + (long)usage.ru_stime.tv_usec,
		usage.ru_maxrss);
	return fclose(out) == 0 ? 0 : 1;
}
