# What every root reports about its fleet, computed one way from the VMs' addresses: the ssh
# destinations, the agents' stats URLs (install.sh's port layout) and a summary for the logs.

variable "vm_names" {
  description = "Agent VM names, in order (also their ssh Host names where a root writes an ssh config)."
  type        = list(string)
}

variable "vm_addresses" {
  description = "The address of each VM in vm_names, reachable from where the experiment runs."
  type        = list(string)
}

variable "agents_per_vm" {
  type = number
}

variable "base_port" {
  type = number
}

variable "kafka_brokers" {
  description = "Bootstrap servers the agents use."
  type        = string
}

locals {
  stats_urls = flatten([
    for address in var.vm_addresses : [
      for i in range(1, var.agents_per_vm + 1) : "http://${address}:${var.base_port + i}"
    ]
  ])
}

output "vms" {
  description = "VM name -> address."
  value       = zipmap(var.vm_names, var.vm_addresses)
}

output "stats_urls" {
  description = "Every agent's stats URL (fraudstream capacity/fleet --agents)."
  value       = local.stats_urls
}

output "kafka_brokers" {
  value = var.kafka_brokers
}

output "summary" {
  value = "${length(var.vm_names)} VMs x ${var.agents_per_vm} agents = ${length(local.stats_urls)} agents; Kafka ${var.kafka_brokers}"
}
