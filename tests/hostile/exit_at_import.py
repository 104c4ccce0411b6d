# expect: Runtime Error
# message: ended the worker process (exit status 0)
import os

os._exit(0)
