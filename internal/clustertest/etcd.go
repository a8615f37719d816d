package clustertest

import clientv3 "go.etcd.io/etcd/client/v3"

// Etcd returns the client of the server's etcd, for tests that must plant
// what the API server would refuse, such as an object an older version
// stored under rules since tightened. It is valid until the cluster stops.
func (c *Cluster) Etcd() *clientv3.Client { return c.srv.EtcdClient() }
