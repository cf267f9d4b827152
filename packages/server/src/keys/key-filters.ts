/** SQL for "this key has status `status` at `now`"; it lives in storage, where queries are built. */
export { keyStatusIs } from '@keyroll/storage';
