# The fleet as emulated VMs on this machine (deploy/vmlab): `tofu apply` brings a lab up with
# vmlab.sh and `tofu destroy` takes it down, through the built-in terraform_data resource and
# local-exec, so no provider is downloaded. Needs root, as vmlab.sh does.

terraform {
  required_version = ">= 1.6"
}

variable "prefix" {
  description = "The lab's name (vmlab.sh --prefix): labs with different prefixes and subnets run side by side."
  type        = string
  default     = "fsvm"
}

variable "subnet" {
  description = "The lab's /24 as A.B.C: host .1, broker VM .2, vmI .10+I."
  type        = string
  default     = "10.77.0"
}

variable "broker_vcpu" {
  description = "CPU quota of the broker VM (when kafka_brokers is empty), in cores."
  type        = number
  default     = 1
}

locals {
  with_broker = var.kafka_brokers == ""
  vm_names    = [for i in range(1, var.vm_count + 1) : "vm${i}"]
  addresses   = [for i in range(1, var.vm_count + 1) : "${var.subnet}.${10 + i}"]
  brokers     = local.with_broker ? "${var.subnet}.2:9092" : var.kafka_brokers
  state       = "/run/fraudstream-vmlab-${var.prefix}"
}

resource "terraform_data" "lab" {
  # Any change of size makes a new lab: an emulated VM cannot be resized in place.
  triggers_replace = [var.prefix, var.subnet, var.vm_count, var.vcpu, var.memory_mb, local.with_broker, var.broker_vcpu]
  # A destroy provisioner may only read self: everything `down` needs is kept in input.
  input = {
    script = abspath("${path.module}/../../vmlab/vmlab.sh")
    prefix = var.prefix
  }

  provisioner "local-exec" {
    command = join(" ", concat(
      ["bash", self.input.script, "--prefix", var.prefix, "up"],
      ["--vms", var.vm_count, "--vcpu", var.vcpu, "--memory", "${var.memory_mb}M", "--subnet", var.subnet],
      local.with_broker ? ["--broker", "--broker-vcpu", var.broker_vcpu] : [],
    ))
  }

  provisioner "local-exec" {
    when    = destroy
    command = "bash ${self.input.script} --prefix ${self.input.prefix} down"
  }
}

module "fleet" {
  source        = "../modules/fleet"
  vm_names      = local.vm_names
  vm_addresses  = local.addresses
  agents_per_vm = var.agents_per_vm
  base_port     = var.base_port
  kafka_brokers = local.brokers
}

output "vms" {
  description = "VM name -> address (ssh -F ssh_config NAME)."
  value       = terraform_data.lab.id == "" ? {} : module.fleet.vms
}

output "ssh_config" {
  description = "ssh client configuration naming every VM (install.sh --ssh-config)."
  value       = "${local.state}/ssh_config"
}

output "stats_urls" {
  value = module.fleet.stats_urls
}

output "kafka_brokers" {
  value = module.fleet.kafka_brokers
}

output "agents_per_vm" {
  value = var.agents_per_vm
}

output "secrets" {
  description = "The agents' secret settings, by reference, for the installer."
  value       = var.secrets
}

output "summary" {
  value = module.fleet.summary
}
