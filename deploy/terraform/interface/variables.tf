# The fleet's interface, the same for every root (each root links this file as variables.tf):
# what the experiment asks for, independent of where the VMs run. A root adds only what its
# place needs (a subnet on this machine, a folder and an image in the cloud).

variable "vm_count" {
  description = "Agent VMs in the fleet."
  type        = number
  default     = 2
  validation {
    condition     = var.vm_count >= 1 && var.vm_count <= 50 && floor(var.vm_count) == var.vm_count
    error_message = "vm_count: expected a whole number 1..50."
  }
}

variable "vcpu" {
  description = "CPU of each agent VM in cores; fractions are a CPU quota (0.5 = half a core)."
  type        = number
  default     = 0.5
  validation {
    condition     = var.vcpu >= 0.05 && var.vcpu <= 32
    error_message = "vcpu: expected 0.05..32 cores."
  }
}

variable "memory_mb" {
  description = "Memory of each agent VM in MiB."
  type        = number
  default     = 1024
  validation {
    condition     = var.memory_mb >= 256 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb: expected a whole number of MiB, at least 256."
  }
}

variable "agents_per_vm" {
  description = "fraudstream-agent@1..N instances on each VM."
  type        = number
  default     = 1
  validation {
    condition     = var.agents_per_vm >= 1 && var.agents_per_vm <= 16 && floor(var.agents_per_vm) == var.agents_per_vm
    error_message = "agents_per_vm: expected a whole number 1..16."
  }
}

variable "base_port" {
  description = "Agent i on a VM serves its stats on base_port + i (install.sh --base-port)."
  type        = number
  default     = 8080
}

variable "kafka_brokers" {
  description = "Bootstrap servers of an existing Kafka (host:port,...); empty: the root creates Kafka."
  type        = string
  default     = ""
}

variable "secrets" {
  description = <<-EOT
    Agent settings that are secrets, by reference only: FRAUDSTREAM_* variable name -> where the
    value lives ("file:/path" on the machine that installs, "lockbox:SECRET_ID/KEY" in Yandex
    Cloud). No secret value passes through this configuration or its state.
  EOT
  type        = map(string)
  default     = {}
  validation {
    condition = alltrue([
      for name, ref in var.secrets :
      can(regex("^FRAUDSTREAM_[A-Z0-9_]+$", name)) && can(regex("^(file:/|lockbox:[a-z0-9]+/)", ref))
    ])
    error_message = "secrets: expected FRAUDSTREAM_NAME = \"file:/path\" or \"lockbox:SECRET_ID/KEY\"."
  }
}
